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
import { profileParts } from "./profile.js";

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
  /**
   * With warm launch on: why this backend has none. When no try of the warm-up run was warm-launched, the rows say
   * "n/a" with this reason instead of repeating the cold figures; without a reason that is an error (a backend that
   * has warm launch must use it).
   */
  noWarmLaunch?: string;
  /**
   * Runs the independent tasks once more under a CPU profile and reports the orchestrator's main-thread time per try
   * by part (store, scheduler, logs, supervisor, backend, file system, ...): where the time goes that a goal is
   * missed by.
   */
  profile?: boolean;
}

/** Whether this configuration asks for warm launch (the default of `executor.warmLaunch` is on). */
const warmAsked = (o: TryBenchOptions): boolean => {
  // Tries with reuse: true run in long-lived runners, not in warm ones.
  if (o.taskOptions?.reuse === true) return false;
  const w = o.executor?.warmLaunch;
  return w === undefined || w === true || (typeof w === "object" && w !== null && (w as { enabled?: boolean }).enabled !== false);
};

/** How many of a run's tries (tasks t0..t(n-1)) were handed to a warm runner, from the handles in the store. */
async function warmTries(ctx: any, runId: string, n: number): Promise<number> {
  let warm = 0;
  for (let i = 0; i < n; i++) for (const t of await ctx.store.listTries(runId, `t${i}`)) if (t.handle?.warm === true) warm++;
  return warm;
}

/** How many of a run's tries ran in a reused runner, from the store's column. */
async function reusedTries(ctx: any, runId: string): Promise<number> {
  return (await ctx.store.listReusedTries(runId)).length;
}

/** The rows of a configuration the backend cannot run, each saying why. */
function notApplicable(o: TryBenchOptions, reason: string): BenchRow[] {
  const row = (what: string, unit: string): BenchRow => ({ suite: o.suite, name: `${o.backend} ${o.label}: ${what}`, value: Number.NaN, unit, note: `n/a: ${reason}` });
  return [row("chain per-task overhead", "ms"), row("independent tiny tasks", "tasks/s"), row("orchestrator CPU per try", "ms")];
}

const taskCode = (i: string, work: number, opts: string) => `fn({ id: "t" + ${i}, ${opts}run: async () => { const end = Date.now() + ${work}; while (Date.now() < end); return ${i}; } })`;

const chainDag = (n: number, work: number, opts: string) => `import { dag, fn } from "airlock";
export default dag({ id: "chain" }, () => {
  let prev = ${taskCode("0", work, opts)};
  for (let i = 1; i < ${n}; i++) { const t = ${taskCode("i", work, opts)}; prev.then(t); prev = t; }
});`;

const wideDag = (n: number, opts: string) => `import { dag, fn } from "airlock";
export default dag({ id: "wide" }, () => { for (let i = 0; i < ${n}; i++) ${taskCode("i", 0, opts)}; });`;

/** Warm-up DAG: first tries pay for caches (backend check, pool start); its tries also show whether warm launch works. */
const WARMUP = 3;

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
  writeFileSync(path.join(dir, "dags", "warmup.ts"), chainDag(WARMUP, work, opts).replace('id: "chain"', 'id: "warmup"'));
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
      if ((await ctx.store.getDag("chain")) && (await ctx.store.getDag("wide")) && (await ctx.store.getDag("warmup"))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const probe = await waitRun(ctx, (await actions.triggerDagRun(actx, "warmup", {})).runId);
    if (probe.state !== "success") throw new Error(`${o.backend} ${o.label}: the warm-up run ended ${probe.state}`);
    if (warmAsked(o) && (await warmTries(ctx, probe.runId, WARMUP)) === 0) {
      if (o.noWarmLaunch) return notApplicable(o, o.noWarmLaunch);
      throw new Error(`${o.backend} ${o.label}: warm launch is on but none of the warm-up run's ${WARMUP} tries was warm-launched`);
    }
    if (o.taskOptions?.reuse === true && (await reusedTries(ctx, probe.runId)) < WARMUP) {
      throw new Error(`${o.backend} ${o.label}: reuse: true is on but not every try of the warm-up run ran in a reused runner`);
    }
    // A warm-up run of the measured chain: its first tries pay for the compiled DAG module.
    await waitRun(ctx, (await actions.triggerDagRun(actx, "chain", {})).runId);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const chain = await waitRun(ctx, (await actions.triggerDagRun(actx, "chain", {})).runId);
    const perTask = (performance.now() - t0) / chainN;
    const chainCpu = process.cpuUsage(c0);
    rows.push({ suite: o.suite, name: name(`${chainN}-task chain, per task (${chain.state})`), value: perTask, unit: "ms" });
    rows.push({ suite: o.suite, name: name(`chain per-task overhead above ${work} ms of work`), value: perTask - work, unit: "ms", goal: o.goals?.chain });
    rows.push({ suite: o.suite, name: name("orchestrator CPU per try (chain)"), value: (chainCpu.user + chainCpu.system) / 1000 / chainN, unit: "ms", goal: o.goals?.cpu });
    if (o.taskOptions?.reuse !== true) rows.push({ suite: o.suite, name: name("chain tries handed to a warm runner"), value: (100 * (await warmTries(ctx, chain.runId, chainN))) / chainN, unit: "%" });
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    const wide = await waitRun(ctx, (await actions.triggerDagRun(actx, "wide", {})).runId);
    const s = (performance.now() - t1) / 1000;
    const wideCpu = process.cpuUsage(c1);
    rows.push({ suite: o.suite, name: name(`${wideN} independent tiny tasks (${wide.state})`), value: wideN / s, unit: "tasks/s", goal: o.goals?.wide });
    rows.push({ suite: o.suite, name: name("orchestrator CPU per try (independent)"), value: (wideCpu.user + wideCpu.system) / 1000 / wideN, unit: "ms", goal: o.goals?.cpu });
    if (o.taskOptions?.reuse !== true) rows.push({ suite: o.suite, name: name("independent tries handed to a warm runner"), value: (100 * (await warmTries(ctx, wide.runId, wideN))) / wideN, unit: "%" });
    else rows.push({ suite: o.suite, name: name("independent tries run in a reused runner"), value: (100 * (await reusedTries(ctx, wide.runId))) / wideN, unit: "%" });
    if (o.profile) {
      const stop = await profileParts();
      const profiled = await waitRun(ctx, (await actions.triggerDagRun(actx, "wide", {})).runId);
      const parts = await stop();
      for (const [part, ms] of parts) {
        rows.push({ suite: o.suite, name: name(`main-thread time per try by part (independent, profiled run ${profiled.state}): ${part}`), value: ms / wideN, unit: "ms" });
      }
    }
  } finally {
    await o2.stop();
    await ctx.store.close?.();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
