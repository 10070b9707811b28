import { appendFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, ApiError } from "../src/api/client.js";
import { UserError } from "../src/core/errors.js";
import { startApi, type ApiFixture } from "./helpers/api-fixture.js";

const ADMIN = "admin-token-client";
let api: ApiFixture;
let client: ApiClient;
beforeAll(async () => {
  api = await startApi({ tokens: [{ token: ADMIN, role: "admin" }] });
  await api.addDag({ id: "etl", tags: ["x"], params: { n: 1 }, paramsSchema: { type: "object", properties: { n: { type: "integer" } } } }, ["only"]);
  client = new ApiClient({ url: `${api.url}/api/v1/`, token: ADMIN });
});
afterAll(async () => api?.close());

describe("ApiClient", () => {
  it("lists DAGs and reads one", async () => {
    const list = await client.listDags({ tags: ["x"] });
    expect(list.dags.map((d) => d.dagId)).toEqual(["etl"]);
    expect((await client.getDag("etl")).tasks.map((t) => t.taskId)).toEqual(["only"]);
  });

  it("turns server errors into UserErrors with the server's message and hint", async () => {
    const err = await client.triggerDagRun("etl", { conf: { n: "not a number" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).code).toBe("invalid_input");
    expect((err as ApiError).message).toContain("n");
    const missing = await client.getDag("nope").catch((e: unknown) => e as ApiError);
    expect(missing.code).toBe("not_found");
    expect(missing.hint).toBeTruthy();
    const anonymous = await new ApiClient({ url: api.url }).listDags().catch((e: unknown) => e as ApiError);
    expect(anonymous.code).toBe("unauthorized");
  });

  it("reports an unreachable server as a UserError saying what to check", async () => {
    const err = await new ApiClient({ url: "http://127.0.0.1:1" }).health().catch((e: unknown) => e as UserError);
    expect(err).toBeInstanceOf(UserError);
    expect(err.code).toBe("unavailable");
    expect(err.hint).toContain("--api-url");
  });

  it("triggers a run and waits for it to finish", async () => {
    const run = await client.triggerDagRun("etl", { conf: { n: 3 }, runId: "client_1" });
    expect(run.state).toBe("queued");
    const seen: string[] = [];
    // Play the scheduler, one step each time the client has seen the previous state: queued → running → success.
    const next: Record<string, "running" | "success"> = { queued: "running", running: "success" };
    const done = await client.waitForRun("etl", "client_1", {
      pollMs: 50,
      onUpdate: (r) => {
        seen.push(r.state);
        const to = next[r.state];
        if (to) void api.ctx.store.setRunState("client_1", to);
      },
    });
    expect(done.state).toBe("success");
    expect(seen).toEqual(["queued", "running", "success"]);
    expect((await client.listTaskInstances("etl", "client_1")).taskInstances.map((t) => t.taskId)).toEqual(["only"]);
  });

  it("follows a log as it grows until the try ends", async () => {
    await client.triggerDagRun("etl", { runId: "client_2" });
    const { tryNumber, logPath } = await api.startTry("client_2", "only");
    const writer = (async () => {
      for (let i = 1; i <= 3; i++) {
        await new Promise((r) => setTimeout(r, 150));
        appendFileSync(logPath, `step ${i}\n`);
      }
      await new Promise((r) => setTimeout(r, 150));
      await api.ctx.store.finishTry({ runId: "client_2", taskId: "only", tryNumber }, { state: "success", taskState: "success", exitCode: 0, error: null, xcomJson: "null" });
    })();
    const chunks: string[] = [];
    for await (const text of client.followLog("etl", "client_2", "only", tryNumber, { pollMs: 50 })) chunks.push(text);
    await writer;
    expect(chunks.join("")).toBe("step 1\nstep 2\nstep 3\n");
    expect(chunks.length).toBeGreaterThan(1);
  });
});
