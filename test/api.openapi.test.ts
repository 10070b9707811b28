import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allRoutes } from "../src/api/routes/index.js";
import { createRun, startApi, type ApiFixture } from "./helpers/api-fixture.js";

let api: ApiFixture;
let doc: any;
beforeAll(async () => {
  api = await startApi();
  await api.addDag({ id: "etl", tags: ["t"], params: { n: 1 } });
  await createRun(api.ctx, "etl", "r1", "2026-01-01T00:00:00.000Z");
  await api.runTry("r1", "extract", "hello\n");
  await api.ctx.store.setImportError("/x/broken.ts", "boom");
  await api.call("PUT", "variables/color", { body: { value: "blue" } });
  await api.call("POST", "connections", { body: { connId: "db", uri: "postgres://u:p@h:5432/d" } });
  doc = (await api.call("GET", "openapi.json")).json;
});
afterAll(async () => api?.close());

const sample: Record<string, string> = { dagId: "etl", runId: "r1", taskId: "extract", tryNumber: "1", key: "color", connId: "db", name: "none" };

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists every route the server has", () => {
    expect(doc.openapi).toBe("3.1.0");
    const ops = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods as object).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ops.sort()).toEqual(allRoutes.map((r) => `${r.method} /api/v1${r.path}`).sort());
    expect(new Set(ops.map((o) => doc.paths[o.split(" ")[1]!][o.split(" ")[0]!.toLowerCase()].operationId)).size).toBe(ops.length);
  });

  it("describes what the server actually returns for every GET operation", async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(doc.components.schemas.Error, "#/components/schemas/Error");
    let checked = 0;
    for (const [p, methods] of Object.entries<any>(doc.paths)) {
      const op = methods.get;
      if (!op || op.responses["200"]?.content?.["text/event-stream"]) continue;
      const url = p.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(sample[name] ?? "x"));
      const res = await api.call("GET", url);
      const declared = op.responses[String(res.status)];
      expect(declared, `${op.operationId} answered ${res.status}, which the document does not list`).toBeDefined();
      const schema = declared.content["application/json"].schema;
      const validate = schema.$ref ? ajv.getSchema(schema.$ref)! : ajv.compile(schema);
      expect(validate(res.json), `${op.operationId}: ${JSON.stringify(validate.errors)}`).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(12);
  });

  it("documents the error body on every operation", () => {
    for (const methods of Object.values<any>(doc.paths)) {
      for (const op of Object.values<any>(methods)) {
        expect(op.responses["400"].content["application/json"].schema.$ref).toBe("#/components/schemas/Error");
        if (op["x-airlock-role"] !== "public") expect(op.responses["401"]).toBeDefined();
      }
    }
  });
});
