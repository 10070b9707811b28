/**
 * Core figures (issue 2): (a) one-task DAG trigger → success through the running scheduler; (b) per-task overhead in
 * a 200-task chain; (c) throughput of 2,000 independent tiny tasks; (d) parse + schedule a 10,000-task DAG (time and
 * peak memory, at several sizes to show it is linear).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { benchPostgres, nodeStartMs, percentile, removeProject, ROOT, tempProject, type BenchRow } from "../lib.js";
import { tryFigures } from "../tries.js";

const dist = (p: string) => pathToFileURL(path.join(ROOT, "dist", p)).href;

interface Loaded {
  loadConfig: (o: { cwd: string }) => Promise<any>;
  createContext: (c: any) => Promise<any>;
  startOrchestrator: (ctx: any, parts: any) => Promise<any>;
  triggerDagRun: (ctx: any, dagId: string, o?: any) => Promise<any>;
  DagFileProcessor: new (ctx: any) => { refresh(): Promise<unknown> };
  evaluateRun: (ctx: any, run: any, dag: any, o: any) => Promise<any>;
  runTasks: (dag: any) => any[];
}

async function load(): Promise<Loaded> {
  const [config, context, orch, actions, proc, evalr] = await Promise.all([
    import(dist("config/config.js")), import(dist("core/context.js")), import(dist("services/orchestrator.js")),
    import(dist("core/actions.js")), import(dist("dagfiles/processor.js")), import(dist("scheduler/run-evaluator.js")),
  ]);
  return {
    loadConfig: config.loadConfig, createContext: context.createContext, startOrchestrator: orch.startOrchestrator,
    triggerDagRun: actions.triggerDagRun, DagFileProcessor: proc.DagFileProcessor, evaluateRun: evalr.evaluateRun, runTasks: actions.runTasks,
  };
}

async function waitRun(ctx: any, runId: string): Promise<any> {
  for (;;) {
    const r = await ctx.store.getRun(runId);
    if (r.state === "success" || r.state === "failed") return r;
    await new Promise((res) => setTimeout(res, 2));
  }
}

async function withOrchestrator<T>(L: Loaded, files: Record<string, string>, fn: (ctx: any) => Promise<T>): Promise<T> {
  const dir = tempProject(files);
  const ctx = await L.createContext(await L.loadConfig({ cwd: dir }));
  const orch = await L.startOrchestrator(ctx, { parse: true, scheduler: true, executor: true, api: false });
  try {
    return await fn({ ...ctx, wake: () => orch.scheduler?.wake() });
  } finally {
    await orch.stop();
    removeProject(dir);
  }
}

const chainDag = (n: number, id: string) => `import { dag, fn } from "airlock";
export default dag({ id: "${id}" }, () => {
  let prev = fn({ id: "t0", run: async () => 0 });
  for (let i = 1; i < ${n}; i++) { const t = fn({ id: "t" + i, run: async () => i }); prev.then(t); prev = t; }
});`;

const wideDag = (n: number, id: string) => `import { dag, fn } from "airlock";
export default dag({ id: "${id}" }, () => { for (let i = 0; i < ${n}; i++) fn({ id: "t" + i, run: async () => i }); });`;

/** Runs the core benchmark. */
export async function run(): Promise<BenchRow[]> {
  const L = await load();
  const rows: BenchRow[] = [];
  const nodeMs = await nodeStartMs();
  rows.push({ suite: "core", name: "node process start (node -e 0), p50", value: nodeMs, unit: "ms" });

  // (a) one-task DAG, trigger to success through the running scheduler.
  await withOrchestrator(L, { "one.ts": chainDag(1, "one") }, async (ctx) => {
    const samples: number[] = [];
    for (let i = 0; i < 25; i++) {
      const t = performance.now();
      const r = await L.triggerDagRun(ctx, "one", {});
      await waitRun(ctx, r.runId);
      samples.push(performance.now() - t);
    }
    const p50 = percentile(samples, 50);
    rows.push({ suite: "core", name: "(a) one-task DAG trigger→success, p50", value: p50, unit: "ms" });
    rows.push({ suite: "core", name: "(a) one-task DAG trigger→success, p95", value: percentile(samples, 95), unit: "ms" });
    rows.push({ suite: "core", name: "(a) p50 above one node start", value: p50 - nodeMs, unit: "ms", goal: "<= 100 ms" });
  });

  // (b) per-task overhead in a 200-task chain.
  await withOrchestrator(L, { "chain.ts": chainDag(200, "chain200") }, async (ctx) => {
    const t = performance.now();
    const r = await L.triggerDagRun(ctx, "chain200", {});
    const done = await waitRun(ctx, r.runId);
    const perTask = (performance.now() - t) / 200;
    rows.push({ suite: "core", name: `(b) 200-task chain, per task (${done.state})`, value: perTask, unit: "ms" });
    rows.push({ suite: "core", name: "(b) per-task overhead above one node start", value: perTask - nodeMs, unit: "ms", goal: "<= 5 ms" });
  });

  // (c) throughput of 2,000 independent tiny tasks.
  await withOrchestrator(L, { "wide.ts": wideDag(2000, "wide2000") }, async (ctx) => {
    const t = performance.now();
    const r = await L.triggerDagRun(ctx, "wide2000", {});
    const done = await waitRun(ctx, r.runId);
    const s = (performance.now() - t) / 1000;
    rows.push({ suite: "core", name: `(c) 2,000 independent tasks (${done.state}), throughput`, value: 2000 / s, unit: "tasks/s" });
  });

  // (e) issue 14 on the process backend: chain overhead, independent tasks/s and orchestrator CPU per try, with warm
  // launch off and on.
  for (const warm of [false, true]) {
    rows.push(...await tryFigures({
      suite: "core", backend: "process", label: `warm launch ${warm ? "on" : "off"}`, executor: { warmLaunch: warm }, profile: warm,
      goals: warm ? { chain: "<= 10 ms", wide: ">= 40 tasks/s" } : { chain: "none (<= 10 ms is for warm on)", wide: ">= 40 tasks/s" },
    }));
  }

  // (f) issue 14 point 3: tries with reuse: true (long-lived runners) on SQLite and on Postgres.
  for (const store of ["sqlite", "postgres"] as const) {
    const pg = store === "postgres" ? await benchPostgres("airlock_bench_reuse") : null;
    try {
      rows.push(...await tryFigures({
        suite: "core", backend: "process", label: `reuse on ${store}`, taskOptions: { reuse: true }, wide: 1000, profile: true,
        ...(pg ? { store: pg.url } : {}), goals: { chain: "<= 10 ms", wide: ">= 1000 tasks/s" },
      }));
    } finally {
      await pg?.drop();
    }
  }

  // (d) parse + schedule a large DAG at several sizes: time and peak memory of this (orchestrator) process.
  for (const n of [2500, 5000, 10000]) {
    const dir = tempProject({ "big.ts": wideDag(n, `big${n}`) });
    const ctx = await L.createContext(await L.loadConfig({ cwd: dir }));
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const t = performance.now();
    await new L.DagFileProcessor(ctx).refresh();
    const parsed = performance.now() - t;
    const dag = await ctx.store.getDag(`big${n}`);
    const run = await L.triggerDagRun(ctx, `big${n}`, {});
    await ctx.store.setRunState(run.runId, "running");
    await L.evaluateRun(ctx, await ctx.store.getRun(run.runId), dag.serialized, { backendOverride: null, paused: false });
    const total = performance.now() - t;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    rows.push({ suite: "core", name: `(d) ${n}-task DAG: parse`, value: parsed, unit: "ms" });
    rows.push({ suite: "core", name: `(d) ${n}-task DAG: parse + create run + queue all`, value: total, unit: "ms" });
    rows.push({ suite: "core", name: `(d) ${n}-task DAG: per task`, value: total / n, unit: "ms", goal: "flat across sizes (linear)" });
    rows.push({ suite: "core", name: `(d) ${n}-task DAG: peak RSS of orchestrator`, value: peak / 2 ** 20, unit: "MiB" });
    await ctx.store.close();
    removeProject(dir);
  }
  return rows;
}
