/**
 * Fuzz driven by the OpenAPI document: every operation gets hostile path values, query values and bodies
 * (wrong types, huge numbers, unicode, path traversal, malformed JSON, missing and unknown fields, deep nesting).
 * A caller's mistake must never be a 5xx, and every error must carry the JSON error body.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRun, startApi, type ApiFixture } from "./helpers/api-fixture.js";

const ADMIN = "admin-token-fuzz";
let api: ApiFixture;
let doc: any;

beforeAll(async () => {
  api = await startApi({ tokens: [{ token: ADMIN, role: "admin" }], maxBodyBytes: 64 * 1024 });
  await api.addDag({ id: "etl", params: { n: 1 }, paramsSchema: { type: "object", properties: { n: { type: "integer" } } } });
  await createRun(api.ctx, "etl", "r1", "2026-01-01T00:00:00.000Z");
  await api.runTry("r1", "extract", "hello\n");
  doc = (await api.call("GET", "openapi.json")).json;
});
afterAll(async () => api?.close());

const HOSTILE_STRINGS = [
  "", " ", "../../../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e", "%", "%ZZ", "\u0000", "a\u0000b", "😀💥ü\u202e",
  "A".repeat(5000), "-1", "0", "1e309", "99999999999999999999999999", "NaN", "Infinity", "true", "null", "[]", "{}",
  "<script>alert(1)</script>", "' OR 1=1 --", "${jndi:x}", "{{7*7}}", "a|b|c", "r1|extract|1|-5", "r1|extract|999999999999999999",
];
const HOSTILE_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, "", "x".repeat(20_000), "😀".repeat(500),
  [], [1, "a", null], {}, { $ne: 1 }, "../../etc/passwd", { __proto__: { polluted: true } }, "2026-13-45T99:99:99Z",
];
const RAW_BODIES = ["{", "[1,2", "null", "42", "\"str\"", "[]", "{\"a\":}", "\u0000", "{\"conf\": {\"__proto__\": {\"x\": 1}}}", "x".repeat(70 * 1024)];
const SAMPLE: Record<string, string> = { dagId: "etl", runId: "r1", taskId: "extract", tryNumber: "1", key: "color", connId: "db", name: "env" };

function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

interface Case { method: string; url: string; body?: string; contentType?: string }

function casesFor(path: string, method: string, op: any): Case[] {
  const M = method.toUpperCase();
  const pathParams = op.parameters.filter((p: any) => p.in === "path").map((p: any) => p.name as string);
  const queryParams = op.parameters.filter((p: any) => p.in === "query").map((p: any) => p.name as string);
  const fill = (override?: [string, string]) =>
    path.replace(/\{(\w+)\}/g, (_m, n: string) => encodeURIComponent(override && override[0] === n ? override[1] : (SAMPLE[n] ?? "x")));
  const out: Case[] = [{ method: M, url: fill() }];
  for (const p of pathParams) for (const s of HOSTILE_STRINGS) out.push({ method: M, url: fill([p, s]) });
  for (const q of queryParams) {
    for (const s of HOSTILE_STRINGS) out.push({ method: M, url: `${fill()}?${q}=${encodeURIComponent(s)}` });
    out.push({ method: M, url: `${fill()}?${q}=1&${q}=2&${q}=x` });
  }
  if (op.requestBody) {
    const schema = op.requestBody.content["application/json"].schema;
    const props = Object.keys(schema.properties ?? {});
    for (const raw of RAW_BODIES) out.push({ method: M, url: fill(), body: raw, contentType: "application/json" });
    out.push({ method: M, url: fill(), body: "a=1", contentType: "text/plain" });
    out.push({ method: M, url: fill(), body: JSON.stringify(deep(3000)), contentType: "application/json" });
    for (const v of HOSTILE_VALUES) out.push({ method: M, url: fill(), body: JSON.stringify(v), contentType: "application/json" });
    for (const prop of props) {
      for (const v of [...HOSTILE_VALUES, deep(2000)]) {
        out.push({ method: M, url: fill(), body: JSON.stringify({ [prop]: v }), contentType: "application/json" });
      }
    }
    out.push({ method: M, url: fill(), body: JSON.stringify({ unknownField: 1 }), contentType: "application/json" });
  }
  return out;
}

describe("OpenAPI-driven fuzz", () => {
  it("finds no 5xx on any operation, and every error is a JSON error body", async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const [path, methods] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(methods)) {
        const stream = Boolean(op.responses["200"]?.content?.["text/event-stream"]);
        for (const c of casesFor(path, method, op)) {
          const abort = new AbortController();
          const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
          if (c.contentType) headers["content-type"] = c.contentType;
          let status = 0;
          let text = "";
          try {
            const res = await fetch(api.url + c.url, { method: c.method, headers, body: c.body, signal: abort.signal });
            status = res.status;
            // An event stream that opened is fine; do not wait for it to end.
            if (stream && status === 200) abort.abort();
            else text = await res.text();
          } catch (err) {
            if (!abort.signal.aborted) failures.push(`${c.method} ${c.url.slice(0, 120)}: request failed (${String(err)})`);
            continue;
          } finally {
            sent++;
          }
          if (status >= 500) failures.push(`${c.method} ${c.url.slice(0, 120)} body=${(c.body ?? "").slice(0, 80)} → ${status} ${text.slice(0, 200)}`);
          else if (status >= 400) {
            let ok = false;
            try {
              const j = JSON.parse(text);
              ok = typeof j.error?.code === "string" && typeof j.error?.message === "string" && typeof j.error?.hint === "string";
            } catch {
              ok = false;
            }
            if (!ok) failures.push(`${c.method} ${c.url.slice(0, 120)} → ${status} without a JSON error body: ${text.slice(0, 120)}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(1000);
    // The server stayed healthy through it all.
    expect((await api.call("GET", "health")).json.status).toBe("ok");
    expect(api.logs.filter((l) => l.startsWith("error:"))).toEqual([]);
  }, 240_000);
});
