/**
 * Fair under load, through a real standalone on SQLite: a small DAG triggered while a large one has a backlog of
 * queued tasks gets slots at once (it does not wait behind the backlog); maxActiveTasks bounds a DAG's running
 * tasks; a pool's slots bound its tasks; priority weight orders a DAG's queued tasks; pools are managed from the
 * CLI and the API with bad input refused; a sensor in mode "reschedule" frees its pool slot between pokes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, type Project, type Standalone } from "./helpers/project.js";

let project: Project;
let standalone: Standalone;
const events = () => path.join(project.dir, "events.txt");

/** A task that records its start and end (with a nanosecond clock) in events.txt. */
const recorded = (id: string, extra = "") =>
  `bash({ id: "${id}", command: "echo \\"start ${id} $(date +%s%N)\\" >> EVENTS; sleep 0.3; echo \\"end ${id} $(date +%s%N)\\" >> EVENTS"${extra} })`;

beforeAll(async () => {
  project = createProject({ config: { executor: { parallelism: 4 } } });
  const ev = events();
  const dagFile = (source: string) => source.replaceAll("EVENTS", ev);
  project.writeDag("big.ts", `import { bash, dag } from "airlock";
export default dag({ id: "big" }, () => {
  for (let i = 0; i < 40; i++) bash({ id: \`t\${i}\`, command: "sleep 1" });
});
`);
  project.writeDag("small.ts", `import { bash, chain, dag } from "airlock";
export default dag({ id: "small" }, () => {
  chain(bash({ id: "a", command: "echo a" }), bash({ id: "b", command: "echo b" }), bash({ id: "c", command: "echo c" }));
});
`);
  project.writeDag("bounded.ts", dagFile(`import { bash, dag } from "airlock";
export default dag({ id: "bounded", maxActiveTasks: 2 }, () => {
  ${[0, 1, 2, 3, 4, 5].map((i) => recorded(`bound${i}`)).join("; ")};
});
`));
  project.writeDag("pooled.ts", dagFile(`import { bash, dag } from "airlock";
export default dag({ id: "pooled" }, () => {
  ${recorded("p0", ', pool: "single"')}; ${recorded("p1", ', pool: "single"')}; ${recorded("p2", ', pool: "single"')};
});
`));
  project.writeDag("ranked.ts", dagFile(`import { bash, dag } from "airlock";
export default dag({ id: "ranked", maxActiveTasks: 1 }, () => {
  ${recorded("low", ", priorityWeight: 1")}; ${recorded("high", ", priorityWeight: 30")}; ${recorded("mid", ", priorityWeight: 20")};
});
`));
  project.writeDag("sensed.ts", `import { bash, dag, fileSensor } from "airlock";
export default dag({ id: "sensed" }, () => {
  fileSensor({ id: "wait", path: ${JSON.stringify(path.join(project.dir, "flag"))}, mode: "reschedule", pokeInterval: "1s", timeout: "120s", pool: "gate", priorityWeight: 10 });
  bash({ id: "write", command: "sleep 1; touch ${path.join(project.dir, "flag")}", pool: "gate" });
});
`);
  standalone = await project.startStandalone();
}, 120_000);
afterAll(async () => {
  await standalone?.stop();
  await project?.cleanup();
});

function intervals(prefix: string): Array<{ id: string; start: bigint; end: bigint }> {
  const lines = readFileSync(events(), "utf8").trim().split("\n").map((l) => l.split(" "));
  const start = new Map(lines.filter((l) => l[0] === "start").map((l) => [l[1] as string, BigInt(l[2] as string)]));
  const end = new Map(lines.filter((l) => l[0] === "end").map((l) => [l[1] as string, BigInt(l[2] as string)]));
  return [...start.keys()].filter((id) => id.startsWith(prefix)).map((id) => ({ id, start: start.get(id) as bigint, end: end.get(id) as bigint }));
}

/** The most intervals that overlap at one moment. */
function maxOverlap(list: Array<{ start: bigint; end: bigint }>): number {
  const points = list.flatMap((i) => [[i.start, 1], [i.end, -1]] as Array<[bigint, number]>).sort((x, y) => (x[0] === y[0] ? x[1] - y[1] : x[0] < y[0] ? -1 : 1));
  let now = 0;
  let most = 0;
  for (const [, d] of points) most = Math.max(most, (now += d));
  return most;
}

it("runs a small DAG triggered behind a large DAG's backlog without waiting for the backlog", async () => {
  const big = await project.cliJson(["dags", "trigger", "big", "--json"]);
  expect(big.code, big.stderr).toBe(0);
  const small = await project.cliJson(["dags", "trigger", "small", "--wait", "--json"], { timeoutMs: 150_000 });
  expect(small.json.state).toBe("success");
  // Oldest-first claiming would have started the small DAG's first task only after every task of the big one.
  const states = await project.cliJson(["tasks", "states", "big", big.json.runId, "--json"]);
  const waiting = (states.json.tasks as Array<{ state: string }>).filter((t) => t.state === "queued").length;
  expect(waiting).toBeGreaterThan(0);
  // The backlog drains before the next test measures overlaps.
  for (let state = ""; state !== "success"; await new Promise((r) => setTimeout(r, 500))) {
    state = (await project.cliJson(["tasks", "states", "big", big.json.runId, "--json"])).json.state;
    expect(state).not.toBe("failed");
  }
}, 400_000);

it("bounds running tasks by the DAG's maxActiveTasks and by pool slots, and claims by priority weight", async () => {
  const pool = await project.cli(["pools", "set", "single", "1", "--description", "one at a time"]);
  expect(pool.code, pool.stderr).toBe(0);
  for (const dagId of ["bounded", "pooled", "ranked"]) {
    const r = await project.cliJson(["dags", "trigger", dagId, "--wait", "--json"], { timeoutMs: 150_000 });
    expect(r.json.state, dagId).toBe("success");
  }
  expect(intervals("bound")).toHaveLength(6);
  expect(maxOverlap(intervals("bound"))).toBeLessThanOrEqual(2);
  expect(maxOverlap(intervals("p"))).toBe(1);
  const ranked = ["low", "high", "mid"].map((id) => intervals(id)[0] as { id: string; start: bigint });
  expect(ranked.sort((x, y) => (x.start < y.start ? -1 : 1)).map((r) => r.id)).toEqual(["high", "mid", "low"]);
}, 400_000);

it("manages pools from the CLI and the API, refusing bad input with exit code 2", async () => {
  const listed = await project.cliJson(["pools", "list", "--json"]);
  expect(listed.json.items).toEqual(expect.arrayContaining([expect.objectContaining({ name: "single", slots: 1, description: "one at a time", defined: true })]));
  for (const args of [["pools", "set", "x", "many"], ["pools", "delete", "default"], ["pools", "delete", "missing"], ["pools", "set", "bad name", "2"]]) {
    const r = await project.cli(args);
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(/hint|pool/i);
  }
  const put = await fetch(`${standalone.url}/api/v1/pools/api_pool`, { method: "PUT", headers: { "content-type": "application/json", "x-airlock-request": "1" }, body: JSON.stringify({ slots: 3 }) });
  expect(put.status).toBe(200);
  expect(await put.json()).toMatchObject({ name: "api_pool", slots: 3, running: 0, queued: 0 });
  const bad = await fetch(`${standalone.url}/api/v1/pools/api_pool`, { method: "PUT", headers: { "content-type": "application/json", "x-airlock-request": "1" }, body: JSON.stringify({ slots: -1 }) });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(await bad.json())).toContain("slots");
  const del = await fetch(`${standalone.url}/api/v1/pools/api_pool`, { method: "DELETE", headers: { "x-airlock-request": "1" } });
  expect(await del.json()).toEqual({ deleted: true });
  const after = await project.cliJson(["pools", "list", "--json"]);
  expect((after.json.items as Array<{ name: string }>).some((p) => p.name === "api_pool")).toBe(false);
}, 120_000);

it("frees the slot of a sensor in mode reschedule between pokes, so a task of the same one-slot pool can run", async () => {
  // In mode "poke" the sensor (claimed first by its weight) would hold the only slot until its timeout.
  expect((await project.cli(["pools", "set", "gate", "1"])).code).toBe(0);
  const r = await project.cliJson(["dags", "trigger", "sensed", "--wait", "--json"], { timeoutMs: 150_000 });
  expect(r.json.state).toBe("success");
  const sensor = (r.json.tasks as Array<{ taskId: string; state: string; tryNumber: number }>).find((t) => t.taskId === "wait");
  expect(sensor).toMatchObject({ state: "success", tryNumber: 1 });
  const log = await project.cliJson(["tasks", "logs", "sensed", r.json.runId, "wait", "--json"]);
  expect(log.json.log).toMatch(/try 1 rescheduled: .*flag does not exist yet; next poke at/);
  expect(log.json.log).toMatch(/found .*flag/);
  expect(log.json.log).toMatch(/try 1 succeeded/);
}, 200_000);
