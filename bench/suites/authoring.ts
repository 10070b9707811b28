/**
 * Authoring (issue 15): (a) dynamic task mapping over 10,000 elements — time from trigger to the run's success
 * through a running orchestrator (expansion, 10,000 claims, tries, XComs and the list pulled downstream) and the
 * orchestrator's peak RSS, with trivial instances each run as a task process (the process backend: what a DAG's
 * tiny fn gets; a DAG cannot ask for inline, which only `dags test --backend inline` uses), so the time is bound by
 * 10,000 process start-ups at the executor's parallelism; (b) 1,000 deferrable sensors waiting at
 * once: the orchestrator's memory growth and its child processes while they wait.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { benchPostgres, removeProject, ROOT, tempProject, type BenchRow } from "../lib.js";

const dist = (p: string) => pathToFileURL(path.join(ROOT, "dist", p)).href;
const MAPPED = Number(process.env.BENCH_MAPPED ?? 10_000);
const SENSORS = Number(process.env.BENCH_SENSORS ?? 1_000);

const mappedDag = `import { dag, fn } from "airlock";
export default dag({ id: "wide_map" }, () => {
  const list = fn({ id: "list", run: async () => Array.from({ length: ${MAPPED} }, (_, i) => i) });
  const each = fn({ id: "each", run: async (ctx) => ctx.item * 2 }).expand(list);
  each.then(fn({ id: "sum", run: async (ctx) => (ctx.xcom.pull("each") as number[]).reduce((a, b) => a + b, 0) }));
});`;

const sensorsDag = `import { dag, fileSensor } from "airlock";
export default dag({ id: "many_waits", params: { dir: "" } }, () => {
  for (let i = 0; i < ${SENSORS}; i++) fileSensor({ id: "w" + i, path: "{{ params.dir }}/go", mode: "deferrable", pokeInterval: "5s", timeout: "1h" });
});`;

async function load() {
  const [config, context, orch, actions] = await Promise.all([
    import(dist("config/config.js")), import(dist("core/context.js")), import(dist("services/orchestrator.js")), import(dist("core/actions.js")),
  ]);
  return { loadConfig: config.loadConfig, createContext: context.createContext, startOrchestrator: orch.startOrchestrator, triggerDagRun: actions.triggerDagRun };
}

/** This process's child processes (task processes, sandboxes, parse children). */
function children(): number {
  let n = 0;
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    n += readFileSync(`/proc/${process.pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).length;
  }
  return n;
}

async function startIn(dir: string, extra: Record<string, unknown>) {
  const L = await load();
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify({ scheduler: { pollIntervalMs: 1000, dagsArePausedAtCreation: false }, ...extra }));
  const ctx = await L.createContext(await L.loadConfig({ cwd: dir }));
  const orch = await L.startOrchestrator(ctx, { parse: true, scheduler: true, executor: true, api: false });
  await new Promise((r) => setTimeout(r, 1500));
  return { L, ctx, orch };
}

/** Expanding a task into MAPPED instances in the store alone (batched inserts in one transaction), per dialect. */
async function expansionRows(): Promise<BenchRow[]> {
  const { openStore } = await import(dist("store/index.js"));
  const rows: BenchRow[] = [];
  for (const dialect of ["sqlite", "postgres"] as const) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-expand-"));
    const pg = dialect === "postgres" ? await benchPostgres("airlock_bench_expand") : null;
    const store = await openStore(pg ? pg.url : `sqlite:${path.join(dir, "airlock.db")}`);
    try {
      const runId = "expand_run";
      await store.createRun({
        runId, dagId: "expand", runType: "manual", logicalDate: new Date().toISOString(), dataIntervalStart: new Date().toISOString(), dataIntervalEnd: new Date().toISOString(),
        conf: {}, params: {}, versionHash: "v", maxActiveTasks: null,
        tasks: [{ taskId: "each", pool: "default", queue: "default", maxTries: 1, priorityWeight: 1 }],
      });
      const t = performance.now();
      if (!(await store.expandTask(runId, "each", MAPPED, ["none"]))) throw new Error("the expansion was refused");
      rows.push({ suite: "authoring", name: `map over ${MAPPED.toLocaleString("en")} elements: expansion in the store (${dialect})`, value: performance.now() - t, unit: "ms" });
    } finally {
      await store.close();
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

/** The suite's rows. */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  if (MAPPED > 0) rows.push(...(await expansionRows()));
  // BENCH_MAPPED=0 leaves the mapping rows out (to measure only the sensors).
  if (MAPPED > 0) {
    const dir = tempProject({ "wide.ts": mappedDag });
    // SQLite serialises every write, heartbeats included: under 10,000 instances' writes a heartbeat can wait longer
    // than the default 15 s timeout, so the bench gives the worker more slack (a lost worker's tries would be failed).
    const { L, ctx, orch } = await startIn(dir, { executor: { parallelism: 32, workerTimeoutMs: 300_000 } });
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const t = performance.now();
      const r = await L.triggerDagRun({ ...ctx, wake: () => orch.scheduler?.wake() }, "wide_map", {});
      for (;;) {
        const s = await ctx.store.getRun(r.runId);
        if (s.state === "failed") throw new Error("the mapped run failed");
        if (s.state === "success") break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const ms = performance.now() - t;
      const sum = JSON.parse((await ctx.store.getXcom(r.runId, "sum")) as string) as number;
      if (sum !== MAPPED * (MAPPED - 1)) throw new Error(`the mapped run summed to ${sum}`);
      rows.push({ suite: "authoring", name: `map over ${MAPPED.toLocaleString("en")} elements: trigger to run success (process backend, parallelism 32)`, value: ms / 1000, unit: "s" });
      rows.push({ suite: "authoring", name: `map over ${MAPPED.toLocaleString("en")} elements: per instance`, value: ms / MAPPED, unit: "ms" });
      rows.push({ suite: "authoring", name: `map over ${MAPPED.toLocaleString("en")} elements: orchestrator peak RSS`, value: peak / 2 ** 20, unit: "MiB" });
    } finally {
      clearInterval(sampler);
      await orch.stop();
      removeProject(dir);
    }
  }
  // BENCH_SENSORS=0 leaves the sensor rows out.
  if (SENSORS > 0) {
    const dir = tempProject({ "waits.ts": sensorsDag });
    const { L, ctx, orch } = await startIn(dir, { executor: { parallelism: 64 } });
    try {
      global.gc?.();
      const before = process.memoryUsage().rss;
      const heapBefore = process.memoryUsage().heapUsed;
      const childrenBefore = children();
      const r = await L.triggerDagRun({ ...ctx, wake: () => orch.scheduler?.wake() }, "many_waits", { conf: { dir } });
      const t = performance.now();
      for (;;) {
        const tis = await ctx.store.listTaskInstances(r.runId);
        if (tis.filter((x: { state: string }) => x.state === "deferred").length === SENSORS) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      const deferMs = performance.now() - t;
      // Let the trigger loop go round its checks a few times while all of them wait.
      await new Promise((res) => setTimeout(res, 12_000));
      global.gc?.();
      const after = process.memoryUsage().rss;
      const heapAfter = process.memoryUsage().heapUsed;
      const childrenWaiting = children();
      rows.push({ suite: "authoring", name: `${SENSORS.toLocaleString("en")} deferred sensors: orchestrator memory added while they wait`, value: (after - before) / 2 ** 20, unit: "MiB", goal: "< 100 MiB" });
      // RSS keeps the high-water mark of deferring them (64 supervisors at once, the template engine loaded on first
      // use); the JS heap after a GC is what the waits themselves hold.
      rows.push({ suite: "authoring", name: `${SENSORS.toLocaleString("en")} deferred sensors: JS heap added while they wait (after GC)`, value: (heapAfter - heapBefore) / 2 ** 20, unit: "MiB" });
      rows.push({ suite: "authoring", name: `${SENSORS.toLocaleString("en")} deferred sensors: child processes while they wait (before: ${childrenBefore})`, value: childrenWaiting, unit: "processes", goal: "no process per sensor" });
      rows.push({ suite: "authoring", name: `${SENSORS.toLocaleString("en")} deferrable sensors: trigger to all deferred`, value: deferMs / 1000, unit: "s" });
      writeFileSync(path.join(dir, "go"), "");
      const t2 = performance.now();
      for (;;) {
        const s = await ctx.store.getRun(r.runId);
        if (s.state === "success") break;
        if (s.state === "failed") throw new Error("the sensors' run failed");
        await new Promise((res) => setTimeout(res, 200));
      }
      rows.push({ suite: "authoring", name: `${SENSORS.toLocaleString("en")} deferred sensors: file appears to run success (poke 5 s)`, value: (performance.now() - t2) / 1000, unit: "s" });
    } finally {
      await orch.stop();
      removeProject(dir);
    }
  }
  return rows;
}
