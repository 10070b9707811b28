/**
 * Builders shared by the parts of the Store contract. Every test names its rows with a fresh prefix, so the
 * tests of one file can share a database without seeing each other's rows.
 */
import { randomBytes } from "node:crypto";
import { bash, dag, serializeDag, type SerializedDag, type Task } from "../../src/sdk/index.js";
import type { ClaimRequest, NewRun, Store } from "../../src/store/store.js";
import type { TaskState } from "../../src/store/types.js";

/** What each part of the contract gets: the suite's store and a way to open more handles on the same database. */
export interface ContractContext {
  store(): Store;
  open(): Promise<Store>;
}

/** A fresh identifier with `prefix`, safe as a DAG, run, queue or pool name. */
export const uid = (prefix = "t"): string => `${prefix}${randomBytes(5).toString("hex")}`;

/** A serialized DAG of bash tasks chained in order. */
export function serializedDag(id: string, options: { tags?: string[]; pausedOnCreation?: boolean; tasks?: string[] } = {}): SerializedDag {
  const d = dag({ id, schedule: null, tags: options.tags ?? [], pausedOnCreation: options.pausedOnCreation ?? false }, () => {
    let prev: Task | undefined;
    for (const taskId of options.tasks ?? ["extract", "load"]) {
      const t = bash({ id: taskId, command: `echo ${taskId}` });
      prev?.then(t);
      prev = t;
    }
  });
  return serializeDag(d);
}

/** Records a DAG through upsertDag; `id` may hold characters the SDK refuses (the store must not care). */
export async function addDag(store: Store, id: string, options: { fileloc?: string; tags?: string[]; pausedOnCreation?: boolean; versionHash?: string; tasks?: string[] } = {}): Promise<SerializedDag> {
  const serialized = { ...serializedDag("placeholder", options), id };
  await store.upsertDag({
    fileloc: options.fileloc ?? `dags/${id}.ts`, serialized, versionHash: options.versionHash ?? `v-${id}`, bundlePath: `bundles/${id}.mjs`,
  });
  return serialized;
}

/** A run of `dagId` with task instances `tasks` (or `count` generated ids) in one pool and queue. */
export function newRun(dagId: string, options: {
  runId?: string; tasks?: string[]; count?: number; logicalDate?: string; runType?: NewRun["runType"];
  pool?: string; queue?: string; maxTries?: number;
} = {}): NewRun {
  const tasks = options.tasks ?? Array.from({ length: options.count ?? 2 }, (_, i) => `task_${String(i).padStart(4, "0")}`);
  const logicalDate = options.logicalDate ?? "2026-01-01T00:00:00.000Z";
  return {
    runId: options.runId ?? uid("run_"), dagId, runType: options.runType ?? "manual", logicalDate,
    dataIntervalStart: logicalDate, dataIntervalEnd: logicalDate, conf: { who: "contract" }, params: { n: 1 },
    versionHash: `v-${dagId}`,
    tasks: tasks.map((taskId) => ({ taskId, maxTries: options.maxTries ?? 2, pool: options.pool ?? "default", queue: options.queue ?? "default" })),
  };
}

/** Moves `taskIds` of a run from `from` to queued in one call; throws unless all moved. */
export async function queueTasks(store: Store, runId: string, taskIds: string[], from: TaskState[] = ["none"]): Promise<void> {
  const applied = await store.transitionTasks(runId, taskIds.map((taskId) => ({ taskId, from, patch: { state: "queued" } })));
  if (applied.length !== taskIds.length) throw new Error(`queued ${applied.length} of ${taskIds.length} tasks of ${runId}`);
}

/** A claim request for one queue whose log paths name the try. */
export function claimRequest(queues: string[], options: { workerId?: string; hostname?: string; limit?: number } = {}): ClaimRequest {
  return {
    workerId: options.workerId ?? "worker-1", hostname: options.hostname ?? "host-1", queues, limit: options.limit ?? 10,
    logPathOf: (c) => `logs/${c.dagId}/${c.runId}/${c.taskId}/${c.tryNumber}.log`,
  };
}

/** Creates a run with `count` instances in a fresh queue, all queued unless `queued` is false; returns its ids. */
export async function queuedRun(store: Store, options: { count?: number; pool?: string; dagId?: string; queued?: boolean } = {}): Promise<{ dagId: string; runId: string; queue: string; taskIds: string[] }> {
  const dagId = options.dagId ?? uid("dag_");
  const queue = uid("q_");
  const run = newRun(dagId, { count: options.count ?? 3, queue, pool: options.pool });
  if (!(await store.createRun(run))) throw new Error(`run ${run.runId} already existed`);
  const taskIds = run.tasks.map((t) => t.taskId);
  if (options.queued !== false) await queueTasks(store, run.runId, taskIds);
  return { dagId, runId: run.runId, queue, taskIds };
}
