/**
 * The audit log through real processes: CLI commands that write to the store and calls to a running server's API
 * are recorded with who (the OS user for the CLI, the token's name for the API), when, what and on what; `airlock
 * audit list` and GET /api/v1/audit filter and page them; no secret value ever reaches the log.
 */
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allRoutes } from "../src/api/routes/index.js";
import { AUDITED_OPERATIONS } from "../src/api/audit.js";
import { createProject, type Project, type Standalone } from "./helpers/project.js";

const TOKEN = "audit-admin-token-7f3a";
const PASSWORD = "pw-9b1c-never-logged";
const VALUE = "value-4e2d-never-logged";
const API_PASSWORD = "api-pw-77aa-never-logged";
const DAG = `
import { dag, bash } from "airlock";
export default dag({ id: "audited", schedule: "@daily", startDate: "2026-01-01", params: { code: 0 } }, () => {
  bash({ id: "a", command: "exit {{ params.code }}" }).then(bash({ id: "b", command: "echo b" }));
});
`;

interface Event { eventId: number; at: string; actor: string; via: string; action: string; dagId: string | null; target: string | null; details: Record<string, unknown> }

let project: Project;
let standalone: Standalone;
let me: string;
beforeAll(async () => {
  me = os.userInfo().username;
  project = createProject({ dags: { "audited.ts": DAG }, config: { api: { tokens: [{ token: TOKEN, role: "admin", name: "ci-bot" }] } } });
}, 60_000);
afterAll(async () => {
  await standalone?.stop();
  await project.cleanup();
});

const audit = async (...args: string[]) => {
  const r = await project.cliJson<{ items: Event[]; total: number }>(["audit", "list", "--json", ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.json;
};
const ok = async (args: string[], input?: string) => {
  const r = await project.cli(args, input === undefined ? {} : { input });
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
};

describe("audit log", () => {
  it("records CLI changes with the OS user, newest first", async () => {
    await ok(["dags", "pause", "audited"]);
    await ok(["dags", "unpause", "audited", "--yes"]);
    await ok(["pools", "set", "narrow", "2"]);
    await ok(["routes", "set", "audited.a", "etl", "--fallback", "default"]);
    await ok(["routes", "rm", "audited.a"]);
    await ok(["connections", "add", "warehouse", "--uri-stdin"], `postgres://etl:${PASSWORD}@db.internal:5432/x\n`);
    await ok(["variables", "set", "api_token", "--stdin"], `${VALUE}\n`);
    await ok(["variables", "delete", "api_token"]);
    await ok(["connections", "delete", "warehouse"]);
    await ok(["pools", "delete", "narrow"]);
    const t = await project.cliJson<{ runId: string }>(["dags", "test", "audited", "2026-03-01", "--json", "--conf", '{"code": 3}']);
    expect(t.code).toBe(1);
    await ok(["tasks", "clear", "audited", t.json.runId, "a", "--downstream", "--yes"]);
    await ok(["tasks", "mark", "audited", t.json.runId, "a", "success"]);
    const trig = await project.cliJson<{ runId: string }>(["dags", "trigger", "audited", "--json"]);
    await ok(["dags", "backfill", "audited", "--start", "2026-02-01", "--end", "2026-02-01", "--dry-run"]);
    await ok(["dags", "backfill", "audited", "--start", "2026-02-01", "--end", "2026-02-01"]);
    const log = await audit();
    expect(log.items.map((e) => e.action)).toEqual(["backfill", "trigger", "mark", "clear", "pool.delete", "connection.delete", "variable.delete", "variable.set",
      "connection.set", "route.rm", "route.set", "pool.set", "unpause", "pause"]);
    for (const e of log.items) expect(e).toMatchObject({ actor: me, via: "cli" });
    const byAction = new Map(log.items.map((e) => [e.action, e]));
    expect(byAction.get("clear")).toMatchObject({ dagId: "audited", target: t.json.runId, details: { tasks: ["a", "b"], downstream: true } });
    expect(byAction.get("mark")).toMatchObject({ dagId: "audited", target: t.json.runId, details: { tasks: ["a"], state: "success" } });
    expect(byAction.get("route.set")).toMatchObject({ dagId: "audited", target: "audited.a", details: { queue: "etl", fallbacks: ["default"] } });
    expect(byAction.get("connection.set")).toMatchObject({ dagId: null, target: "warehouse", details: { type: "postgres", host: "db.internal" } });
    expect(byAction.get("variable.set")).toMatchObject({ target: "api_token", details: { secret: true } });
    expect(byAction.get("pool.set")).toMatchObject({ target: "narrow", details: { slots: 2 } });
    expect(byAction.get("trigger")).toMatchObject({ dagId: "audited", target: trig.json.runId });
    expect(byAction.get("backfill")).toMatchObject({ dagId: "audited", target: null, details: { start: "2026-02-01", end: "2026-02-01", created: ["backfill__audited__2026-02-01T00:00:00.000Z"], rerun: [] } });
    expect(Date.parse(log.items[0]?.at ?? "")).toBeGreaterThan(Date.now() - 10 * 60_000);
  });

  it("records API calls with the token's name, and serves GET /api/v1/audit with filters and paging", async () => {
    standalone = await project.startStandalone();
    const call = (method: string, route: string, body?: unknown) => fetch(`${standalone.url}/api/v1/${route}`, {
      method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect((await call("PATCH", "dags/audited", { isPaused: true })).status).toBe(200);
    const run = await (await call("POST", "dags/audited/runs", { conf: { code: 0, note: VALUE } })).json() as { runId: string };
    expect((await call("PUT", "variables/region", { value: VALUE, secret: true })).status).toBe(200);
    expect((await call("POST", "connections", { connId: "api_conn", uri: `http://svc:${API_PASSWORD}@api.internal:8080` })).status).toBe(201);
    // A failed call changes nothing and is not recorded.
    expect((await call("PATCH", "dags/nope", { isPaused: true })).status).toBe(404);
    const api = await call("GET", "audit?limit=10");
    expect(api.status).toBe(200);
    const page = await api.json() as { events: Event[]; total: number };
    expect(page.events.slice(0, 4).map((e) => [e.action, e.actor, e.via])).toEqual([
      ["connection.set", "ci-bot", "api"], ["variable.set", "ci-bot", "api"], ["trigger", "ci-bot", "api"], ["pause", "ci-bot", "api"]]);
    expect(page.events[2]).toMatchObject({ dagId: "audited", target: run.runId });
    // Filters: DAG, action, since; paging with limit and offset.
    const triggers = await (await call("GET", "audit?dagId=audited&action=trigger")).json() as { events: Event[]; total: number };
    expect(triggers.events.map((e) => [e.target, e.via])).toEqual([[run.runId, "api"], [expect.stringMatching(/^manual__audited__/), "cli"]]);
    const since = page.events[1]?.at ?? "";
    const recent = await (await call("GET", `audit?since=${encodeURIComponent(since)}`)).json() as { events: Event[] };
    expect(recent.events.map((e) => e.action)).toEqual(["connection.set", "variable.set"]);
    const second = await (await call("GET", "audit?limit=1&offset=1")).json() as { events: Event[]; total: number };
    expect(second.events[0]?.eventId).toBe(page.events[1]?.eventId);
    expect(second.total).toBe(page.total);
    expect((await call("GET", "audit?action=explode")).status).toBe(400);
    expect((await fetch(`${standalone.url}/api/v1/audit`)).status).toBe(401);
    // The CLI reads the same log, with the same filters.
    const cli = await audit("--dag", "audited", "--action", "pause");
    expect(cli.items.map((e) => [e.actor, e.via])).toEqual([["ci-bot", "api"], [me, "cli"]]);
    expect(cli.total).toBe(2);
    const remote = await project.cliJson<{ items: Event[]; total: number }>(["audit", "list", "--json", "--dag", "audited", "--action", "pause", "--api-url", standalone.url],
      { env: { AIRLOCK__CLI__TOKEN: TOKEN } });
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.json).toEqual(cli);
    const table = await ok(["audit", "list", "--limit", "2"]);
    expect(table.stdout).toMatch(/connection\.set\s+api_conn/);
    expect(table.stdout).toMatch(/more: --offset 2/);
  }, 180_000);

  it("never records a secret, a token or a run's conf", async () => {
    const all = JSON.stringify((await audit("--limit", "1000")).items);
    for (const secret of [PASSWORD, VALUE, API_PASSWORD, TOKEN]) expect(all).not.toContain(secret);
    const doc = await (await fetch(`${standalone.url}/api/v1/openapi.json`)).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain("/api/v1/audit");
  });

  it("keeps a deleted DAG's history", async () => {
    await standalone.stop();
    await ok(["dags", "delete", "audited", "--yes"]);
    const deleted = await audit("--dag", "audited", "--action", "delete");
    expect(deleted.items).toEqual([expect.objectContaining({ actor: me, via: "cli", dagId: "audited", details: { runs: expect.any(Number) } })]);
    expect((await audit("--dag", "audited")).total).toBeGreaterThan(5);
  });

  it("every state-changing API operation says what it records", () => {
    const changing = allRoutes.filter((r) => r.method !== "GET").map((r) => r.operationId);
    expect(changing.filter((id) => !(id in AUDITED_OPERATIONS))).toEqual([]);
  });
});
