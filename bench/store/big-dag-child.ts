/**
 * One large DAG, parsed and scheduled in a fresh process (so that its peak memory is this work's alone): parse the
 * DAG file, create a run, and evaluate it once, which queues its first wave. Prints one JSON line of timings.
 * Usage: big-dag-child.ts <shape: wide|layers|chain> <tasks>
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../lib.js";

const [shape, nArg] = process.argv.slice(2);
const n = Number(nArg);
/** DAG bodies: independent tasks; 100 layers where each task needs two of the layer before; one long chain. */
const BODIES: Record<string, string> = {
  wide: `for (let i = 0; i < ${n}; i++) fn({ id: "t" + i, run: async () => i });`,
  layers: `const W = ${Math.floor(n / 100)}; let prev = [];
  for (let l = 0; l < 100; l++) {
    const cur = [];
    for (let i = 0; i < W; i++) {
      const t = fn({ id: "t" + l + "_" + i, run: async () => i });
      if (prev.length) { prev[i].then(t); prev[(i + 1) % W].then(t); }
      cur.push(t);
    }
    prev = cur;
  }`,
  chain: `let p = fn({ id: "t0", run: async () => 0 });
  for (let i = 1; i < ${n}; i++) { const t = fn({ id: "t" + i, run: async () => i }); p.then(t); p = t; }`,
};
const body = shape ? BODIES[shape] : undefined;
if (!body || !Number.isInteger(n) || n < 100) throw new Error("usage: big-dag-child.ts <wide|layers|chain> <tasks ≥ 100>");

const dist = (p: string) => pathToFileURL(path.join(ROOT, "dist", p)).href;
const [config, context, actions, processor, evaluator] = await Promise.all([
  import(dist("config/config.js")), import(dist("core/context.js")), import(dist("core/actions.js")),
  import(dist("dagfiles/processor.js")), import(dist("scheduler/run-evaluator.js")),
]);
const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-big-"));
try {
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify({ scheduler: { dagsArePausedAtCreation: false } }));
  mkdirSync(path.join(dir, "dags"));
  writeFileSync(path.join(dir, "dags", "big.ts"), `import { dag, fn } from "airlock";\nexport default dag({ id: "big" }, () => {\n  ${body}\n});\n`);
  const ctx = await context.createContext(await config.loadConfig({ cwd: dir }));
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  await new processor.DagFileProcessor(ctx).refresh();
  const t1 = performance.now();
  const run = await actions.triggerDagRun(ctx, "big", {});
  await ctx.store.setRunState(run.runId, "running");
  const t2 = performance.now();
  const dag = await ctx.store.getDag("big");
  if (!dag) throw new Error("the DAG was not parsed");
  const result = await evaluator.evaluateRun(ctx, await ctx.store.getRun(run.runId), dag.serialized, { backendOverride: null, paused: false });
  const t3 = performance.now();
  const tasks = (await ctx.store.listTaskInstances(run.runId)).length;
  await ctx.store.close();
  process.stdout.write(`${JSON.stringify({
    tasks, queued: result.queued, parseMs: t1 - t0, createRunMs: t2 - t1, firstWaveMs: t3 - t2, totalMs: t3 - t0,
    baseRssMiB: rssBefore / 2 ** 20, peakRssMiB: process.resourceUsage().maxRSS / 1024,
  })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
