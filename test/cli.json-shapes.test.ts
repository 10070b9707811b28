/**
 * The CLI's --json contract (README "JSON output"): every read command prints one object; lists are `{items: [...]}`;
 * every object has one id field (no bare `id` beside `dagId`, `connId`, `versionId`...); a run's outcome has
 * DESIGN.md's fixed shape. Bad input exits 2 and "not found" names what is missing, in every command family.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const DAG = `
import { dag, bash, fn } from "airlock";
export default dag({ id: "shapes", schedule: "@daily", startDate: "2026-01-01" }, () => {
  bash({ id: "first", command: "echo one" }).then(fn({ id: "second", run: async () => ({ n: 2 }) }));
});
`;
const PIPELINE = `
import { pipeline, node } from "airlock";
export default pipeline({ id: "pipe", schedule: null, startDate: "2026-01-01" }, [
  node({ name: "make", run: async () => ({ nums: [1, 2] }), inputs: [], outputs: ["nums"] }),
]);
`;

/** Every key named `id` anywhere in a value, as paths: an object's identity must have a kind (`dagId`, `connId`...). */
function bareIds(value: unknown, at = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => bareIds(v, `${at}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [...(k === "id" ? [`${at}.id`] : []), ...bareIds(v, `${at}.${k}`)]);
}

let project: Project;
let runId: string;
beforeAll(async () => {
  project = createProject({ dags: { "shapes.ts": DAG, "pipe.ts": PIPELINE } });
  const t = await project.cliJson<{ runId: string }>(["dags", "test", "shapes", "2026-02-01", "--json"]);
  expect(t.code, t.stderr).toBe(0);
  runId = t.json.runId;
  expect((await project.cli(["dags", "test", "pipe"])).code).toBe(0);
  for (const args of [["connections", "add", "warehouse", "--uri", "postgres://etl@db.internal:5432/x"], ["variables", "set", "region", "eu"],
    ["pools", "set", "small", "2"], ["routes", "set", "shapes", "etl"], ["env", "init", "tools"]]) {
    const r = await project.cli(args);
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  }
}, 180_000);
afterAll(() => project.cleanup());

describe("--json read commands", () => {
  // [command, the id field of its items (lists) or of the object itself]
  const lists: Array<[string[], string]> = [
    [["dags", "list"], "dagId"], [["runs", "list", "shapes"], "runId"], [["workers", "list"], "workerId"], [["routes", "list"], "target"],
    [["pools", "list"], "name"], [["connections", "list"], "connId"], [["variables", "list"], "key"], [["pipelines", "list"], "pipelineId"],
    [["datasets", "list"], "name"], [["env", "list"], "name"], [["audit", "list"], "eventId"],
  ];
  it.each(lists)("%j prints {items: [...]} whose objects carry %s", async (args, idField) => {
    const r = await project.cliJson<{ items: Array<Record<string, unknown>> }>([...args, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Array.isArray(r.json), "a list is an object, not a bare array").toBe(false);
    expect(Array.isArray(r.json.items)).toBe(true);
    expect(r.json.items.length, `${args.join(" ")} listed nothing`).toBeGreaterThan(0);
    for (const item of r.json.items) expect(["string", "number"], `${idField} of ${JSON.stringify(item)}`).toContain(typeof item[idField]);
    expect(bareIds(r.json)).toEqual([]);
  });

  it("dags list and runs list carry their list-level fields", async () => {
    const dags = await project.cliJson<{ items: Array<Record<string, unknown>>; importErrors: unknown[] }>(["dags", "list", "--json"]);
    expect(dags.json.importErrors).toEqual([]);
    expect(dags.json.items.find((d) => d.dagId === "shapes")).toMatchObject({ taskCount: 2, isPaused: false, lastRun: { runId, state: "success" } });
    const runs = await project.cliJson<{ items: unknown[]; total: number }>(["runs", "list", "shapes", "--json"]);
    expect(runs.json.total).toBe(1);
  });

  const objects: Array<[string[], string]> = [
    [["dags", "show", "shapes"], "dagId"], [["pipelines", "show", "pipe"], "pipelineId"], [["datasets", "show", "nums"], "name"],
    [["env", "show", "tools"], "name"], [["variables", "get", "region"], "key"],
  ];
  it.each(objects)("%j prints one object identified by %s", async (args, idField) => {
    const r = await project.cliJson<Record<string, unknown>>([...args, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(typeof r.json[idField]).toBe("string");
    expect(bareIds(r.json)).toEqual([]);
  });

  it("dags show lists tasks in declared order, each with its taskId", async () => {
    const r = await project.cliJson<{ tasks: Array<{ taskId: string; upstream: string[] }> }>(["dags", "show", "shapes", "--json"]);
    expect(r.json.tasks.map((t) => [t.taskId, t.upstream])).toEqual([["first", []], ["second", ["first"]]]);
    const d = await project.cliJson<{ versions: Array<Record<string, unknown>> }>(["datasets", "show", "nums", "--json"]);
    expect(d.json.versions[0]).toMatchObject({ versionId: expect.any(Number), dagId: "pipe", taskId: "make" });
  });

  it("a run's outcome has the fixed {dagId, runId, state, tasks} shape in tasks states, dags test and trigger", async () => {
    const shape = { dagId: "shapes", runId: expect.any(String), state: "success", tasks: [
      { taskId: "first", state: "success", tryNumber: 1, isolation: "process", xcom: "one" },
      { taskId: "second", state: "success", tryNumber: 1, isolation: "process", xcom: { n: 2 } }] };
    const states = await project.cliJson(["tasks", "states", "shapes", runId, "--json"]);
    expect(states.json).toEqual({ ...shape, runId });
    const t = await project.cliJson(["dags", "test", "shapes", "2026-02-02", "--json"]);
    expect(t.json).toEqual(shape);
    const trig = await project.cliJson(["dags", "trigger", "shapes", "--json"]);
    expect(trig.json).toEqual({ dagId: "shapes", runId: expect.any(String), state: "queued" });
    const one = await project.cliJson(["tasks", "test", "shapes", "second", "--json"]);
    expect(one.json).toEqual({ dagId: "shapes", taskId: "second", state: "success", tryNumber: 1, isolation: "process", xcom: { n: 2 } });
    const log = await project.cliJson(["tasks", "logs", "shapes", runId, "first", "--json"]);
    expect(log.json).toEqual({ dagId: "shapes", runId, taskId: "first", tryNumber: 1, log: expect.stringContaining("one") });
  });
});

describe("errors", () => {
  // [command, the message it must print]: what is missing is named, and the exit code is 2.
  const notFound: Array<[string[], RegExp]> = [
    [["dags", "show", "nope"], /DAG "nope" was not found/], [["dags", "pause", "nope"], /DAG "nope" was not found/],
    [["dags", "test", "nope"], /DAG "nope" was not found/], [["dags", "trigger", "nope"], /DAG "nope" was not found/],
    [["dags", "delete", "nope", "--yes"], /DAG "nope" was not found/], [["runs", "list", "nope"], /DAG "nope" was not found/],
    [["tasks", "states", "nope", "latest"], /DAG "nope" was not found/], [["tasks", "states", "shapes", "nope"], /Run "nope" was not found/],
    [["tasks", "logs", "shapes", "latest", "nope"], /Task "nope" was not found/], [["tasks", "test", "shapes", "nope"], /Task "nope" was not found/],
    [["tasks", "clear", "shapes", "nope"], /Run "nope" was not found/], [["tasks", "mark", "shapes", "latest", "nope", "success"], /Task "nope" was not found/],
    [["routes", "set", "shapes.nope", "q"], /DAG or task "shapes.nope" was not found/], [["routes", "rm", "nope"], /Route "nope" was not found/],
    [["pools", "delete", "nope"], /Pool "nope" was not found/], [["connections", "delete", "nope"], /Connection "nope" was not found/],
    [["variables", "get", "nope"], /Variable "nope" was not found/], [["pipelines", "show", "nope"], /Pipeline "nope" was not found/],
    [["datasets", "show", "nope"], /Dataset "nope" was not found/], [["env", "show", "nope"], /environment "nope" was not found/],
    [["audit", "list", "--dag", "nope"], /DAG "nope" was not found/],
  ];
  it.each(notFound)("%j exits 2 naming what is missing", async (args, message) => {
    const r = await project.cli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^hint: /m);
  });

  const badInput: Array<[string[], RegExp]> = [
    [["runs", "list", "shapes", "--limit", "x"], /--limit "x"/], [["runs", "list", "shapes", "--state", "bogus"], /--state "bogus"/],
    [["dags", "trigger", "shapes", "--conf", "{"], /--conf is not valid JSON/], [["dags", "backfill", "shapes", "--start", "x", "--end", "y"], /--start "x" is not a date/],
    [["dags", "backfill", "pipe", "--start", "2026-01-01", "--end", "2026-01-02"], /no intervals to backfill/],
    [["tasks", "mark", "shapes", "latest", "first", "weird"], /state "weird"/], [["tasks", "logs", "shapes", "latest", "first", "--try", "0"], /--try "0"/],
    [["pools", "set", "p", "-1"], /slots "-1"/], [["dags", "nosuchverb"], /unknown command/],
    [["audit", "list", "--since", "yesterday"], /--since "yesterday"/], [["audit", "list", "--action", "explode"], /--action "explode"/],
  ];
  it.each(badInput)("%j is bad input: exit 2", async (args, message) => {
    const r = await project.cli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("with --json, an error is a JSON object on stderr with its code", async () => {
    const r = await project.cli(["tasks", "states", "shapes", "nope", "--json"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: "not_found", message: 'Run "nope" was not found', hint: expect.stringContaining("airlock runs list shapes") } });
  });
});
