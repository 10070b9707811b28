/**
 * The embedded SQLite store under several processes: CLI commands that start at once on a fresh project (each
 * migrating the store), then a running standalone with many CLI commands at the same time — triggers, `dags test`
 * runs with their own executors, variable and connection writes, listings. Every command succeeds and every run
 * ends.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, waitUntil, type Project, type Standalone } from "./helpers/project.js";

const DAG = `import { bash, dag, empty } from "airlock";
export default dag({ id: "busy" }, () => {
  const start = empty({ id: "start" });
  const work = ["a", "b", "c", "d"].map((id) => bash({ id, command: "echo " + id }));
  const end = empty({ id: "end" });
  start.then(work);
  for (const w of work) w.then(end);
});
`;

const IDLE = `import { bash, dag } from "airlock";
export default dag({ id: "idle" }, () => {
  bash({ id: "t", command: "true" });
});
`;

let project: Project;
let standalone: Standalone | undefined;

beforeAll(() => {
  project = createProject({ dags: { "busy.ts": DAG, "idle.ts": IDLE } });
});
afterAll(async () => {
  await standalone?.stop();
  await project.cleanup();
});

const BUSY = /database is locked|SQLITE_BUSY|SQLITE_LOCKED/i;

it("processes that start at once on a fresh store all migrate it and succeed", async () => {
  const results = await Promise.all([
    project.cli(["dags", "list", "--json"]),
    project.cli(["variables", "set", "first", "1"]),
    project.cli(["connections", "list", "--json"]),
    project.cli(["variables", "list", "--json"]),
  ]);
  for (const r of results) {
    expect(r.stderr).not.toMatch(BUSY);
    expect(r.code, r.stderr).toBe(0);
  }
});

it("a running standalone and many CLI commands share the store", async () => {
  standalone = await project.startStandalone();
  const commands: string[][] = [
    ...Array.from({ length: 6 }, () => ["dags", "trigger", "busy", "--json"]),
    ["dags", "test", "busy", "--json"],
    ["dags", "test", "busy", "--json"],
    ...Array.from({ length: 4 }, (_, i) => ["variables", "set", `var_${i}`, `value ${i}`]),
    ["connections", "add", "api", "--uri", "http://api.internal:8080"],
    ["dags", "list", "--json"],
    ["runs", "list", "busy", "--json"],
    ["dags", "pause", "idle"],
  ];
  const results = await Promise.all(commands.map((args) => project.cli(args)));
  results.forEach((r, i) => {
    expect(r.stderr, commands[i]?.join(" ")).not.toMatch(BUSY);
    expect(r.code, `${commands[i]?.join(" ")}: ${r.stderr}`).toBe(0);
  });
  const triggered = results.slice(0, 6).map((r) => (JSON.parse(r.stdout) as { runId: string }).runId);
  expect(new Set(triggered).size).toBe(6);
  for (const r of results.slice(6, 8)) expect(JSON.parse(r.stdout).state).toBe("success");

  const runs = await waitUntil("every triggered run to succeed", async () => {
    const list = (await project.cliJson<{ items: Array<{ runId: string; runType: string; state: string }> }>(["runs", "list", "busy", "--limit", "50", "--json"])).json.items;
    const manual = list.filter((r) => r.runType === "manual");
    return manual.length === 6 && manual.every((r) => r.state === "success") ? list : null;
  }, 120_000, 500);
  expect(runs.filter((r) => r.runType === "test")).toHaveLength(2);
  expect(runs.filter((r) => r.runType === "manual").map((r) => r.runId).sort()).toEqual([...triggered].sort());
  const vars = (await project.cliJson<{ items: Array<{ key: string; value: string }> }>(["variables", "list", "--json"])).json.items;
  expect(vars.map((v) => v.key).sort()).toEqual(["first", "var_0", "var_1", "var_2", "var_3"]);
  expect(standalone.output()).not.toMatch(BUSY);
});
