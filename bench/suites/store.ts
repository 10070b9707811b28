/**
 * Store at scale (issue 14): (a) a 10,000-task DAG parsed and scheduled (run created, first wave queued), in three
 * shapes, time and peak memory of a fresh process; (b) task transitions per second through the store on SQLite and
 * Postgres with 1 and 4 worker processes: a scheduler queues a run's instances in batches, then the workers claim
 * them in batches and end each batch's tries in one write (queued → running → success: two transitions per task).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { benchPostgres, ROOT, startReadyChild, type BenchRow } from "../lib.js";

const TASKS = 10_000;
/** Instances per transitions round, and per worker claim. */
const INSTANCES = 6_000;
const BATCH = 50;

interface BigDag { tasks: number; queued: number; parseMs: number; createRunMs: number; firstWaveMs: number; totalMs: number; peakRssMiB: number; baseRssMiB: number }

async function bigDag(shape: string, n: number): Promise<BigDag> {
  const child = startReadyChild("store/big-dag-child.ts", [shape, String(n)]);
  return (await child.result) as BigDag;
}

async function parseAndSchedule(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const shape of ["wide", "layers", "chain"]) {
    const small = await bigDag(shape, TASKS / 4);
    const big = await bigDag(shape, TASKS);
    if (big.tasks !== TASKS) throw new Error(`the ${shape} DAG has ${big.tasks} task instances, not ${TASKS}`);
    const name = `(a) 10,000-task DAG, ${shape}`;
    rows.push({ suite: "store", name: `${name}: parse`, value: big.parseMs, unit: "ms" });
    rows.push({ suite: "store", name: `${name}: create run`, value: big.createRunMs, unit: "ms" });
    rows.push({ suite: "store", name: `${name}: first wave (${big.queued} queued)`, value: big.firstWaveMs, unit: "ms" });
    rows.push({ suite: "store", name: `${name}: parse + schedule`, value: big.totalMs, unit: "ms", goal: "≤ 5000" });
    // Linear work makes 4× the tasks cost about 4× the time; quadratic work 16×.
    rows.push({ suite: "store", name: `${name}: time ratio 10,000 / 2,500 tasks`, value: big.totalMs / small.totalMs, unit: "×", goal: "≈ 4 (linear)" });
    rows.push({ suite: "store", name: `${name}: peak RSS`, value: big.peakRssMiB, unit: "MiB" });
  }
  return rows;
}

interface Worker { claimed: number; writes: number; cpuMs: number }

/** One round: queue INSTANCES instances, then drain them with `workers` processes; returns both rates. */
async function transitions(url: string, workers: number): Promise<{ queuePerS: number; drainPerS: number; workerCpuMsPerTask: number }> {
  const { openStore } = (await import(pathToFileURL(path.join(ROOT, "dist", "store", "index.js")).href)) as typeof import("../../src/store/index.js");
  const store = await openStore(url);
  try {
    const queue = `bench_${workers}_${Date.now()}`;
    await store.setPool({ name: queue, slots: INSTANCES, description: null });
    const runId = `${queue}_run`;
    const tasks = Array.from({ length: INSTANCES }, (_, i) => ({ taskId: `t${i}`, maxTries: 1, pool: queue, queue }));
    const at = new Date().toISOString();
    await store.createRun({ runId, dagId: queue, runType: "manual", logicalDate: at, dataIntervalStart: at, dataIntervalEnd: at, conf: {}, params: {}, versionHash: "bench", tasks });
    const children = Array.from({ length: workers }, (_, i) => startReadyChild("store/transitions-worker.ts", [url, queue, `w${i}`, String(BATCH)]));
    await Promise.all(children.map((c) => c.ready));
    const t0 = performance.now();
    const applied = await store.transitionTasks(runId, tasks.map((t) => ({ taskId: t.taskId, from: ["none"], patch: { state: "queued", isolation: "process" } })));
    const t1 = performance.now();
    if (applied.length !== INSTANCES) throw new Error(`queued ${applied.length} of ${INSTANCES}`);
    for (const c of children) c.go();
    const results = (await Promise.all(children.map((c) => c.result))) as Worker[];
    const t2 = performance.now();
    const claimed = results.reduce((a, r) => a + r.claimed, 0);
    if (claimed !== INSTANCES) throw new Error(`the workers claimed ${claimed} of ${INSTANCES} instances`);
    const left = (await store.listTaskInstances(runId)).filter((t) => t.state !== "success").length;
    if (left > 0) throw new Error(`${left} instances did not end in success`);
    // The workers' idle polls at the end (3 empty claims each) are part of the measured time, so the rate is a floor.
    return {
      queuePerS: INSTANCES / ((t1 - t0) / 1000), drainPerS: (2 * INSTANCES) / ((t2 - t1) / 1000),
      workerCpuMsPerTask: results.reduce((a, r) => a + r.cpuMs, 0) / INSTANCES,
    };
  } finally {
    await store.close();
  }
}

async function storeRates(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-store-"));
  const pg = await benchPostgres();
  try {
    for (const [label, url] of [["SQLite", `sqlite:${path.join(dir, "airlock.db")}`], ["Postgres", pg.url]] as const) {
      for (const workers of [1, 4]) {
        const r = await transitions(url, workers);
        const who = `${workers} worker${workers > 1 ? "s" : ""}`;
        const goal = label === "Postgres" && workers > 1 ? "≥ 2000" : undefined;
        rows.push({ suite: "store", name: `(b) ${label}, ${who}: claim + end, transitions/s (batches of ${BATCH})`, value: r.drainPerS, unit: "1/s", goal });
        rows.push({ suite: "store", name: `(b) ${label}, ${who}: worker CPU per task`, value: r.workerCpuMsPerTask, unit: "ms" });
        if (workers === 1) rows.push({ suite: "store", name: `(b) ${label}: scheduler queueing ${INSTANCES} instances, transitions/s`, value: r.queuePerS, unit: "1/s" });
      }
    }
  } finally {
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Runs the store benchmark. */
export async function run(): Promise<BenchRow[]> {
  return [...(await storeRates()), ...(await parseAndSchedule())];
}
