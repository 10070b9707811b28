/**
 * Per-try figures of one backend through the whole orchestrator (scheduler + executor + store): the per-task
 * overhead of a chain, the throughput of independent tiny tasks (each its own try), and the orchestrator's CPU per
 * try (process.cpuUsage of this process, which runs every orchestrator part, divided by the tries).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, type BenchRow } from "./lib.js";

const dist = (p: string) => pathToFileURL(path.join(ROOT, "dist", p)).href;

/** What one measured configuration runs on. */
export interface TryBenchOptions {
  suite: string;
  backend: "process" | "sandbox" | "docker" | "kubernetes";
  /** A label for the rows, e.g. "warm on". */
  label: string;
  /** Extra config merged into the executor section (e.g. warmLaunch). */
  executor?: Record<string, unknown>;
  /** Task options given to every task (e.g. reuse: true). */
  taskOptions?: Record<string, unknown>;
  chain?: number;
  wide?: number;
  /** The task's own work in ms (a busy wait in the task), subtracted from the chain's per-task time. */
  workMs?: number;
  /** Store URL; default: a SQLite file in the project. */
  store?: string;
  /** Extra top-level config (e.g. environmentsFolder). */
  config?: Record<string, unknown>;
  /** Goals shown on the rows. */
  goals?: { chain?: string; wide?: string; cpu?: string };
}

const taskCode = (i: string, work: number, opts: string) => `fn({ id: "t" + ${i}, ${opts}run: async () => { const end = Date.now() + ${work}; while (Date.now() < end); return ${i}; } })`;

const chainDag = (n: number, work: number, opts: string) => `import { dag, fn } from "airlock";
export default dag({ id: "chain" }, () => {
  let prev = ${taskCode("0", work, opts)};
  for (let i = 1; i < ${n}; i++) { const t = ${taskCode("i", work, opts)}; prev.then(t); prev = t; }
});`;

const wideDag = (n: number, opts: string) => `import { dag, fn } from "airlock";
export default dag({ id: "wide" }, () => { for (let i = 0; i < ${n}; i++) ${taskCode("i", 0, opts)}; });`;

/** Polls the run every 20 ms: often enough for the chain's total, rarely enough not to count in the CPU per try. */
async function waitRun(ctx: any, runId: string): Promise<any> {
  for (;;) {
    const r = await ctx.store.getRun(runId);
    if (r.state === "success" || r.state === "failed") return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Measures chain overhead, independent tasks/s and orchestrator CPU per try for one configuration. */
export async function tryFigures(o: TryBenchOptions): Promise<BenchRow[]> {
  const [config, context, orch, actions] = await Promise.all([
    import(dist("config/config.js")), import(dist("core/context.js")), import(dist("services/orchestrator.js")), import(dist("core/actions.js")),
  ]);
  const chainN = o.chain ?? 60;
  const wideN = o.wide ?? 200;
  const work = o.workMs ?? 0;
  const opts = `backend: "${o.backend}", ${Object.entries(o.taskOptions ?? {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}, `).join("")}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-tries-"));
  mkdirSync(path.join(dir, "dags"));
  writeFileSync(path.join(dir, "dags", "chain.ts"), chainDag(chainN, work, opts));
  writeFileSync(path.join(dir, "dags", "wide.ts"), wideDag(wideN, opts));
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify({
    scheduler: { pollIntervalMs: 1000, dagsArePausedAtCreation: false }, executor: { parallelism: 16, ...o.executor },
    ...(o.store ? { store: o.store } : {}), ...o.config,
  }));
  const ctx = await context.createContext(await config.loadConfig({ cwd: dir }));
  const o2 = await orch.startOrchestrator(ctx, { parse: true, scheduler: true, executor: true, api: false });
  const actx = { ...ctx, wake: () => o2.scheduler?.wake() };
  const name = (s: string) => `${o.backend} ${o.label}: ${s}`;
  const rows: BenchRow[] = [];
  try {
    for (;;) {
      if ((await ctx.store.getDag("chain")) && (await ctx.store.getDag("wide"))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // A short warm-up run: the first try pays for caches (compiled DAG module, backend check, pool start).
    await waitRun(ctx, (await actions.triggerDagRun(actx, "chain", {})).runId);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const chain = await waitRun(ctx, (await actions.triggerDagRun(actx, "chain", {})).runId);
    const perTask = (performance.now() - t0) / chainN;
    const chainCpu = process.cpuUsage(c0);
    rows.push({ suite: o.suite, name: name(`${chainN}-task chain, per task (${chain.state})`), value: perTask, unit: "ms" });
    rows.push({ suite: o.suite, name: name(`chain per-task overhead above ${work} ms of work`), value: perTask - work, unit: "ms", goal: o.goals?.chain });
    rows.push({ suite: o.suite, name: name("orchestrator CPU per try (chain)"), value: (chainCpu.user + chainCpu.system) / 1000 / chainN, unit: "ms" });
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    const wide = await waitRun(ctx, (await actions.triggerDagRun(actx, "wide", {})).runId);
    const s = (performance.now() - t1) / 1000;
    const wideCpu = process.cpuUsage(c1);
    rows.push({ suite: o.suite, name: name(`${wideN} independent tiny tasks (${wide.state})`), value: wideN / s, unit: "tasks/s", goal: o.goals?.wide });
    rows.push({ suite: o.suite, name: name("orchestrator CPU per try (independent)"), value: (wideCpu.user + wideCpu.system) / 1000 / wideN, unit: "ms", goal: o.goals?.cpu });
  } finally {
    await o2.stop();
    await ctx.store.close?.();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
