import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRun, startApi, type ApiFixture } from "./helpers/api-fixture.js";

let api: ApiFixture;

beforeAll(async () => {
  api = await startApi();
  await api.addDag({ id: "etl", tags: ["finance", "daily"], params: { name: "world", count: 2 }, paramsSchema: { type: "object", properties: { count: { type: "integer", minimum: 1 } } } });
  await api.addDag({ id: "reports", tags: ["finance"] }, ["a", "b"]);
  await api.addDag({ id: "ml_train", tags: ["ml"], pausedOnCreation: true }, ["prep", "fit"]);
  await createRun(api.ctx, "etl", "r1", "2026-01-01T00:00:00.000Z");
  await createRun(api.ctx, "etl", "r2", "2026-01-02T00:00:00.000Z");
  await api.runTry("r1", "extract", "line one\nline two\n");
  await api.runTry("r1", "transform", "oops\n", "failed");
});
afterAll(async () => api?.close());

describe("DAG routes", () => {
  it("lists DAGs with tags, paused and search filters and paging", async () => {
    const all = await api.call("GET", "dags");
    expect(all.status).toBe(200);
    expect(all.json.total).toBe(3);
    expect(all.json.dags.map((d: { dagId: string }) => d.dagId).sort()).toEqual(["etl", "ml_train", "reports"]);
    const etl = all.json.dags.find((d: { dagId: string }) => d.dagId === "etl");
    expect(etl.recentRuns.map((r: { runId: string }) => r.runId)).toEqual(["r2", "r1"]);
    expect(etl.taskCount).toBe(3);

    expect((await api.call("GET", "dags?tags=ml")).json.dags.map((d: { dagId: string }) => d.dagId)).toEqual(["ml_train"]);
    expect((await api.call("GET", "dags?paused=true")).json.dags.map((d: { dagId: string }) => d.dagId)).toEqual(["ml_train"]);
    expect((await api.call("GET", "dags?search=repo")).json.dags.map((d: { dagId: string }) => d.dagId)).toEqual(["reports"]);
    const page = await api.call("GET", "dags?limit=2&offset=2");
    expect(page.json.dags).toHaveLength(1);
    expect(page.json.total).toBe(3);
    expect((await api.call("GET", "dagTags")).json.tags).toEqual(["daily", "finance", "ml"]);
  });

  it("rejects absurd paging with a 400 naming the field", async () => {
    const res = await api.call("GET", "dags?limit=99999999999");
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_input");
    expect(res.json.error.message).toContain("query.limit");
    expect(res.json.error.hint).toBeTruthy();
  });

  it("shows a DAG with its tasks, graph edges, params and schema", async () => {
    const res = await api.call("GET", "dags/etl");
    expect(res.status).toBe(200);
    expect(res.json.tasks.map((t: { taskId: string }) => t.taskId)).toEqual(["extract", "transform", "load"]);
    expect(res.json.tasks[1].upstream).toEqual(["extract"]);
    expect(res.json.params).toEqual({ name: "world", count: 2 });
    expect(res.json.paramsSchema.properties.count.minimum).toBe(1);
    expect((await api.call("GET", "dags/nope")).status).toBe(404);
  });

  it("pauses and unpauses", async () => {
    const res = await api.call("PATCH", "dags/reports", { body: { isPaused: true } });
    expect(res.status).toBe(200);
    expect(res.json.isPaused).toBe(true);
    expect((await api.call("GET", "dags/reports")).json.isPaused).toBe(true);
    expect((await api.call("PATCH", "dags/reports", { body: { isPaused: false } })).json.isPaused).toBe(false);
    expect((await api.call("PATCH", "dags/reports", { body: { isPaused: "yes" } })).status).toBe(400);
  });

  it("lists import errors", async () => {
    await api.ctx.store.setImportError("/p/dags/broken.ts", "SyntaxError: Unexpected token");
    const res = await api.call("GET", "importErrors");
    expect(res.json.importErrors).toEqual([expect.objectContaining({ fileloc: "/p/dags/broken.ts", message: "SyntaxError: Unexpected token" })]);
  });

  it("returns the grid: runs (oldest first) × task states in one request", async () => {
    const res = await api.call("GET", "dags/etl/grid?limit=10");
    expect(res.status).toBe(200);
    expect(res.json.tasks.map((t: { taskId: string }) => t.taskId)).toEqual(["extract", "transform", "load"]);
    expect(res.json.runs.map((r: { runId: string }) => r.runId)).toEqual(["r1", "r2"]);
    expect(res.json.runs[0].cells.extract).toEqual({ state: "success", tryNumber: 1 });
    expect(res.json.runs[0].cells.transform.state).toBe("failed");
    expect(res.json.runs[1].cells.load.state).toBe("none");
  });
});

describe("run and task routes", () => {
  it("triggers a run with conf validated against params", async () => {
    const ok = await api.call("POST", "dags/etl/runs", { body: { conf: { count: 5 }, runId: "manual_api_1" } });
    expect(ok.status).toBe(201);
    expect(ok.json).toMatchObject({ runId: "manual_api_1", dagId: "etl", state: "queued", runType: "manual", conf: { count: 5 } });
    expect(ok.json.params).toMatchObject({ name: "world", count: 5 });

    const bad = await api.call("POST", "dags/etl/runs", { body: { conf: { count: 0 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("count");

    const dup = await api.call("POST", "dags/etl/runs", { body: { runId: "manual_api_1" } });
    expect(dup.status).toBe(409);
    expect((await api.call("POST", "dags/nope/runs", { body: {} })).status).toBe(404);
    expect((await api.call("POST", "dags/etl/runs", { body: { conf: [] } })).status).toBe(400);
    expect((await api.call("POST", "dags/etl/runs", { body: { bogus: 1 } })).json.error.message).toContain("bogus");
  });

  it("lists, filters and gets runs", async () => {
    const res = await api.call("GET", "dags/etl/runs?state=queued&limit=50");
    expect(res.status).toBe(200);
    expect(res.json.runs.every((r: { state: string }) => r.state === "queued")).toBe(true);
    expect((await api.call("GET", "dags/etl/runs/r1")).json.logicalDate).toBe("2026-01-01T00:00:00.000Z");
    expect((await api.call("GET", "dags/reports/runs/r1")).status).toBe(404);
    expect((await api.call("GET", "dags/etl/runs?state=bogus")).status).toBe(400);
  });

  it("lists task instances, tries, logs by offset and XCom", async () => {
    const tis = await api.call("GET", "dags/etl/runs/r1/tasks");
    expect(tis.json.taskInstances.map((t: { taskId: string; state: string }) => [t.taskId, t.state])).toEqual([
      ["extract", "success"], ["transform", "failed"], ["load", "none"],
    ]);
    expect((await api.call("GET", "dags/etl/runs/r1/tasks/extract")).json.tryNumber).toBe(1);
    const tries = await api.call("GET", "dags/etl/runs/r1/tasks/transform/tries");
    expect(tries.json.tries).toEqual([expect.objectContaining({ tryNumber: 1, state: "failed", error: { type: "Error", message: "boom" } })]);
    expect(JSON.stringify(tries.json)).not.toContain("logPath");

    const log = await api.call("GET", "dags/etl/runs/r1/tasks/extract/tries/1/logs");
    // Written without the log pump (no time index): the lines have no times.
    expect(log.json).toEqual({ text: "line one\nline two\n", offset: 0, nextOffset: 18, complete: true, times: [] });
    const tail = await api.call("GET", "dags/etl/runs/r1/tasks/extract/tries/1/logs?offset=9");
    expect(tail.json.text).toBe("line two\n");
    expect((await api.call("GET", "dags/etl/runs/r1/tasks/extract/tries/7/logs")).status).toBe(404);
    expect((await api.call("GET", "dags/etl/runs/r1/tasks/extract/xcom")).json.value).toEqual({ task: "extract" });
  });

  it("marks and clears", async () => {
    const cleared = await api.call("POST", "dags/etl/runs/r1/tasks/transform/clear", { body: { downstream: true } });
    expect(cleared.status).toBe(200);
    expect(cleared.json.cleared.sort()).toEqual(["load", "transform"]);
    expect((await api.call("GET", "dags/etl/runs/r1/tasks/transform")).json.state).toBe("none");

    const marked = await api.call("PATCH", "dags/etl/runs/r1/tasks/load", { body: { state: "skipped" } });
    expect(marked.json.state).toBe("skipped");
    expect((await api.call("PATCH", "dags/etl/runs/r1/tasks/load", { body: { state: "running" } })).status).toBe(400);

    const run = await api.call("PATCH", "dags/etl/runs/r2", { body: { state: "failed" } });
    expect(run.json.state).toBe("failed");
    const again = await api.call("POST", "dags/etl/runs/r2/clear", { body: { onlyFailed: true } });
    expect(again.status).toBe(200);
    expect((await api.call("POST", "dags/etl/runs/r2/clear", { body: { taskIds: ["ghost"] } })).status).toBe(404);
  });
});

describe("connections, variables, environments, meta", () => {
  it("never returns secret values", async () => {
    const add = await api.call("POST", "connections", { body: { connId: "warehouse", uri: "postgres://bob:hunter2secret@db.example:5432/wh?api_key=k3y-value" } });
    expect(add.status).toBe(201);
    expect(add.json).toMatchObject({ connId: "warehouse", host: "db.example", login: "bob", hasPassword: true });
    const list = await api.call("GET", "connections");
    expect(list.json.connections.map((c: { connId: string }) => c.connId)).toContain("warehouse");
    expect(list.text).not.toContain("hunter2secret");
    expect(list.text).not.toContain("k3y-value");

    expect((await api.call("PUT", "variables/env", { body: { value: "prod" } })).json).toMatchObject({ key: "env", value: "prod", isSecret: false });
    const secret = await api.call("PUT", "variables/token_x", { body: { value: "s3cr3t-value", secret: true } });
    expect(secret.json).toMatchObject({ key: "token_x", value: null, isSecret: true });
    const vars = await api.call("GET", "variables");
    expect(vars.text).not.toContain("s3cr3t-value");
    expect((await api.call("GET", "variables/token_x")).json.value).toBeNull();
    expect((await api.call("DELETE", "variables/env")).json.deleted).toBe(true);
    expect((await api.call("DELETE", "variables/env")).status).toBe(404);
    expect((await api.call("DELETE", "connections/warehouse")).json.deleted).toBe(true);
    expect((await api.call("DELETE", "connections/warehouse")).status).toBe(404);
  });

  it("lists environments with their state and the tasks using them, and 404s an unknown one", async () => {
    mkdirSync(path.join(api.dir, "environments", "pandas2"), { recursive: true });
    writeFileSync(path.join(api.dir, "environments", "pandas2", "package.json"), JSON.stringify({ name: "pandas2", private: true, dependencies: {} }));
    const res = await api.call("GET", "environments");
    expect(res.status).toBe(200);
    const env = res.json.environments.find((e: { name: string }) => e.name === "pandas2");
    expect(env).toMatchObject({ name: "pandas2", state: "not built", sizeBytes: null });
    expect((await api.call("GET", "environments/pandas2")).json.name).toBe("pandas2");
    expect((await api.call("GET", "environments/does-not-exist")).status).toBe(404);
  });

  it("answers health and version, and JSON 404s for unknown API routes", async () => {
    expect((await api.call("GET", "health")).json).toMatchObject({ status: "ok", store: "ok" });
    expect((await api.call("GET", "version")).json).toMatchObject({ api: "v1" });
    const nf = await api.call("GET", "nope");
    expect(nf.status).toBe(404);
    expect(nf.json.error.code).toBe("not_found");
  });
});
