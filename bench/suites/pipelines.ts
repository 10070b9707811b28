/**
 * Pipelines (issue 10): (a) per-node overhead of a pipeline against the same tasks written as a plain DAG (a chain of
 * 20 tiny steps, trigger → success through the running orchestrator); (b) moving a 100 MiB dataset between two sealed
 * nodes on the sandbox, through local storage and through the S3-compatible server of scripts/setup-s3.sh: time and
 * the orchestrator's peak RSS while the run lasts (the data must stream, never sit in its memory).
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { percentile, removeProject, ROOT, tempProject, type BenchRow } from "../lib.js";

const dist = (p: string) => pathToFileURL(path.join(ROOT, "dist", p)).href;
const N = 20;
const S3_PORT = 45010;

const plainChain = `import { dag, fn } from "airlock";
export default dag({ id: "plain" }, () => {
  let prev = fn({ id: "t0", run: async () => 0 });
  for (let i = 1; i < ${N}; i++) { const t = fn({ id: "t" + i, run: async (ctx) => (ctx.xcom.pull("t" + (i - 1)) as number) + 1 }); prev.then(t); prev = t; }
});`;

const pipelineChain = `import { node, pipeline } from "airlock";
export default pipeline({ id: "piped" }, [
  node({ name: "t0", outputs: ["d0"], run: async () => ({ d0: 0 }) }),
  ...Array.from({ length: ${N - 1} }, (_, k) => node({ name: "t" + (k + 1), inputs: ["d" + k], outputs: ["d" + (k + 1)], run: async (x) => ({ ["d" + (k + 1)]: (x["d" + k] as number) + 1 }) })),
]);`;

const bigData = `import { node, pipeline } from "airlock";
import { createReadStream, openSync, writeSync, closeSync } from "node:fs";
import { createHash } from "node:crypto";
export default pipeline({ id: "big", catalog: { blob: { type: "file", path: "{{ params.where }}" } }, params: { where: "data/blob.bin" } }, [
  node({ name: "make", outputs: ["blob"], backend: "sandbox", run: async (_i, ctx) => {
    const fd = openSync(ctx.outputs.blob, "w");
    const chunk = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < 100; i++) writeSync(fd, chunk);
    closeSync(fd);
    return {};
  } }),
  node({ name: "read", inputs: ["blob"], outputs: ["digest"], backend: "sandbox", run: async ({ blob }) => {
    const h = createHash("sha256");
    for await (const c of createReadStream(blob)) h.update(c);
    return { digest: h.digest("hex") };
  } }),
]);`;

async function load() {
  const [config, context, orch, actions] = await Promise.all([
    import(dist("config/config.js")), import(dist("core/context.js")), import(dist("services/orchestrator.js")), import(dist("core/actions.js")),
  ]);
  return { loadConfig: config.loadConfig, createContext: context.createContext, startOrchestrator: orch.startOrchestrator, triggerDagRun: actions.triggerDagRun };
}

/** Runs `dagId` `times` times through a running orchestrator; returns wall times (ms) and the peak RSS (MiB). */
async function timeRuns(files: Record<string, string>, dagId: string, times: number, extraConfig: Record<string, unknown> = {}, conf: Record<string, unknown> = {}): Promise<{ ms: number[]; peakRssMiB: number }> {
  const L = await load();
  const dir = tempProject(files);
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify({ scheduler: { pollIntervalMs: 1000 }, executor: { parallelism: 16 }, ...extraConfig }));
  const ctx = await L.createContext(await L.loadConfig({ cwd: dir }));
  const orch = await L.startOrchestrator(ctx, { parse: true, scheduler: true, executor: true, api: false });
  const ms: number[] = [];
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    for (let i = 0; i < times; i++) {
      const t = performance.now();
      const run = await L.triggerDagRun({ ...ctx, wake: () => orch.scheduler?.wake() }, dagId, { conf, runId: `bench_${i}_${Date.now()}` });
      for (;;) {
        const r = await ctx.store.getRun(run.runId);
        if (r.state === "failed") throw new Error(`bench run of ${dagId} failed`);
        if (r.state === "success") break;
        await new Promise((res) => setTimeout(res, 5));
      }
      ms.push(performance.now() - t);
    }
  } finally {
    clearInterval(sampler);
    await orch.stop();
    removeProject(dir);
  }
  return { ms, peakRssMiB: peak / 2 ** 20 };
}

/** The suite's rows. */
export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const plain = await timeRuns({ "plain.ts": plainChain }, "plain", 3);
  const piped = await timeRuns({ "piped.ts": pipelineChain }, "piped", 3);
  const perPlain = percentile(plain.ms, 50) / N;
  const perPipe = percentile(piped.ms, 50) / N;
  rows.push({ suite: "pipelines", name: `per task, plain DAG chain of ${N} fn tasks (process)`, value: perPlain, unit: "ms" });
  rows.push({ suite: "pipelines", name: `per node, pipeline chain of ${N} run nodes (process)`, value: perPipe, unit: "ms" });
  rows.push({ suite: "pipelines", name: "pipeline overhead per node (staging + publish + version)", value: perPipe - perPlain, unit: "ms" });

  const baseline = process.memoryUsage().rss / 2 ** 20;
  const local = await timeRuns({ "big.ts": bigData }, "big", 1);
  rows.push({ suite: "pipelines", name: "100 MiB dataset between two sandboxed nodes, local: run time", value: local.ms[0] as number, unit: "ms" });
  rows.push({ suite: "pipelines", name: "100 MiB dataset, local: orchestrator peak RSS", value: local.peakRssMiB, unit: "MiB", goal: `≈ baseline ${baseline.toFixed(0)} MiB` });

  execFileSync("bash", [path.join(ROOT, "scripts", "setup-s3.sh"), String(S3_PORT)], { stdio: "ignore" });
  const s3 = { s3Endpoint: `http://127.0.0.1:${S3_PORT}`, s3AccessKeyId: "airlock-test", s3SecretAccessKey: "airlock-test-secret" };
  const { createBucket, deleteObject, listObjects } = await import(dist("datasets/s3.js"));
  const settings = { endpoint: s3.s3Endpoint, region: "us-east-1", accessKeyId: s3.s3AccessKeyId, secretAccessKey: s3.s3SecretAccessKey };
  const bucket = `bench-${Date.now()}`;
  await createBucket(settings, bucket);
  try {
    const remote = await timeRuns({ "big.ts": bigData }, "big", 1, { datasets: { artifacts: `s3://${bucket}/artifacts`, ...s3 } }, { where: `s3://${bucket}/blob.bin` });
    rows.push({ suite: "pipelines", name: "100 MiB dataset between two sandboxed nodes, S3: run time", value: remote.ms[0] as number, unit: "ms" });
    rows.push({ suite: "pipelines", name: "100 MiB dataset, S3: orchestrator peak RSS", value: remote.peakRssMiB, unit: "MiB", goal: `≈ baseline ${baseline.toFixed(0)} MiB` });
  } finally {
    for (const o of await listObjects(settings, bucket, "")) await deleteObject(settings, bucket, o.key);
    await deleteObject(settings, bucket, "");
  }
  return rows;
}
