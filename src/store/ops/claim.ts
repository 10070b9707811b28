/**
 * Claiming queued task instances fairly. Oldest-first across the whole store made one large DAG starve every
 * other: a 2,000-task run queues its tasks at once, and a 3-task DAG triggered after it waited behind all of them.
 * Instead each claim takes, one at a time, the best candidate of the DAG with the fewest running instances
 * (counting those claimed in this call), so every DAG with queued work gets a share of the free slots at once;
 * within a DAG the highest effective priority weight goes first, then the longest queued. A DAG at its
 * `maxActiveTasks` and a full pool get nothing.
 */
import { sql } from "kysely";
import type { BackendName } from "../../sdk/types.js";
import type { Db } from "../kysely-store.js";
import type { ClaimRequest, ClaimedTry } from "../store.js";
import type { NewChange } from "./changes.js";
import { queuedCandidates, type Candidate } from "./claim-candidates.js";
import { instanceChunks, instanceCondition, instanceKey } from "./mapping.js";

/** Appends rows to the change feed inside the caller's transaction. */
export type ChangeWriter = (db: Db, changes: NewChange[]) => Promise<void>;

/** Task ids per UPDATE, and tries per INSERT (14 parameters each): inside every store's parameter limit. */
const IDS_PER_STATEMENT = 500;
const TRIES_PER_INSERT = 200;

/**
 * What a claim needs to know besides the candidates, in one round trip: the worker's state (null when it never
 * registered: tests and `dags test` claim without registering), pool sizes, running instances per pool and DAG,
 * and the bound on running instances of each DAG with an active run under `maxActiveTasks`.
 */
async function claimState(db: Db, workerId: string): Promise<{
  worker: string | null; pools: Map<string, number>; running: Array<{ pool: string; dag: string; n: number }>; bounds: Map<string, number>;
  /** Running instances of tasks with a maxActiveTisPerDag, with that bound. */
  tasks: Array<{ dag: string; task: string; n: number; bound: number }>;
}> {
  const rows = await sql<{ k: string; a: string; b: string | null; n: number | string | null }>`
    select 'worker' as k, state as a, null as b, 0 as n from workers where worker_id = ${workerId}
    union all select 'pool', name, null, slots from pools
    union all select 'running', pool, dag_id, count(*) from task_instances where state = 'running' group by pool, dag_id
    union all select 'bound', dag_id, null, min(max_active_tasks) from dag_runs
      where state in ('queued', 'running') and max_active_tasks is not null group by dag_id
    union all select 'task', dag_id, task_id, count(*) from task_instances
      where state = 'running' and max_active_tis is not null group by dag_id, task_id`.execute(db);
  const out = {
    worker: null as string | null, pools: new Map<string, number>(), running: [] as Array<{ pool: string; dag: string; n: number }>,
    bounds: new Map<string, number>(), tasks: [] as Array<{ dag: string; task: string; n: number; bound: number }>,
  };
  for (const r of rows.rows) {
    if (r.k === "worker") out.worker = r.a;
    else if (r.k === "pool") out.pools.set(r.a, Number(r.n));
    else if (r.k === "running") out.running.push({ pool: r.a, dag: r.b ?? "", n: Number(r.n) });
    else if (r.k === "task") out.tasks.push({ dag: r.a, task: r.b ?? "", n: Number(r.n), bound: 0 });
    else out.bounds.set(r.a, Number(r.n));
  }
  return out;
}

/** The tasks whose running instances reached their maxActiveTisPerDag. */
async function tasksAtBound(db: Db, tasks: Array<{ dag: string; task: string; n: number }>): Promise<Array<{ dagId: string; taskId: string }>> {
  const out: Array<{ dagId: string; taskId: string }> = [];
  for (const t of tasks) {
    const row = await db.selectFrom("task_instances").select("max_active_tis").where("dag_id", "=", t.dag).where("task_id", "=", t.task)
      .where("state", "=", "running").limit(1).executeTakeFirst();
    if (row?.max_active_tis !== null && row?.max_active_tis !== undefined && t.n >= Number(row.max_active_tis)) out.push({ dagId: t.dag, taskId: t.task });
  }
  return out;
}

/** Claims up to `request.limit` queued instances inside the caller's exclusive transaction. */
export async function claimFairly(db: Db, dialect: "sqlite" | "postgres", request: ClaimRequest, change: ChangeWriter): Promise<ClaimedTry[]> {
  const { worker, pools, running, bounds, tasks } = await claimState(db, request.workerId);
  // Fencing: a worker the fleet declared lost (or that stopped) claims nothing until it registers again.
  if (worker !== null && worker !== "live") return [];
  const usedByPool = new Map<string, number>();
  const usedByDag = new Map<string, number>();
  for (const r of running) {
    usedByPool.set(r.pool, (usedByPool.get(r.pool) ?? 0) + r.n);
    usedByDag.set(r.dag, (usedByDag.get(r.dag) ?? 0) + r.n);
  }
  const slotsOf = (pool: string) => pools.get(pool) ?? pools.get("default") ?? 128;
  // Full pools are left out of the query: otherwise a backlog in one full pool fills every candidate window
  // and starves queued instances of pools that have room.
  const full = [...new Set([...pools.keys(), ...usedByPool.keys()])].filter((p) => (usedByPool.get(p) ?? 0) >= slotsOf(p));
  const boundOf = bounds;

  // The best few candidates of every DAG, rather than a global oldest-first cut.
  // maxActiveTisPerDag: instances of one task (mapped ones included) running at once across its DAG's runs. Each
  // running instance carries its task's bound; tasks at it are left out of the candidates, or 10,000 queued
  // instances of one bounded task would fill its DAG's window.
  const taskKey = (dagId: string, taskId: string) => `${dagId}\u0000${taskId}`;
  const usedByTask = new Map(tasks.map((t) => [taskKey(t.dag, t.task), t.n]));
  const fullTasks = await tasksAtBound(db, tasks);
  const byDag = await queuedCandidates(db, dialect, request.queues, full, request.limit + 8, fullTasks);

  // The choice is made in memory, one instance at a time; the writes then go in a few statements for the lot.
  // Nothing can change the candidates meanwhile: the caller holds the store's write lock.
  const picked: Candidate[] = [];
  while (picked.length < request.limit) {
    const next = pickDag(byDag, usedByDag, boundOf);
    if (!next) break;
    const c = (byDag.get(next) as Candidate[]).shift() as Candidate;
    if ((usedByPool.get(c.pool) ?? 0) >= slotsOf(c.pool)) continue;
    const tk = taskKey(c.dag_id, c.task_id);
    if (c.max_active_tis !== null && c.max_active_tis !== undefined && (usedByTask.get(tk) ?? 0) >= Number(c.max_active_tis)) continue;
    usedByPool.set(c.pool, (usedByPool.get(c.pool) ?? 0) + 1);
    usedByDag.set(c.dag_id, (usedByDag.get(c.dag_id) ?? 0) + 1);
    usedByTask.set(tk, (usedByTask.get(tk) ?? 0) + 1);
    picked.push(c);
  }
  return writeClaims(db, request, picked, change);
}

/** Moves the picked instances to running and creates their tries: one UPDATE per run, one INSERT for the tries. */
async function writeClaims(db: Db, request: ClaimRequest, picked: Candidate[], change: ChangeWriter): Promise<ClaimedTry[]> {
  const at = new Date().toISOString();
  const byRun = new Map<string, Candidate[]>();
  for (const c of picked) {
    const list = byRun.get(c.run_id);
    if (list) list.push(c);
    else byRun.set(c.run_id, [c]);
  }
  const moved = new Set<string>();
  const keyOf = (runId: string, taskId: string, mapIndex: unknown) => `${runId}\u0000${instanceKey(taskId, Number(mapIndex))}`;
  for (const [runId, list] of byRun) {
    for (const chunk of instanceChunks(list.map((c) => ({ taskId: c.task_id, mapIndex: Number(c.map_index) })), IDS_PER_STATEMENT)) {
      const rows = await db.updateTable("task_instances").set((eb) => ({
        state: "running", try_number: eb("try_number", "+", 1), isolation: eb.fn.coalesce("isolation", sql.val("process")),
        start_date: at, end_date: null, updated_at: at,
      })).where("run_id", "=", runId).where(instanceCondition(chunk))
        .where("state", "=", "queued").returning(["task_id", "map_index"]).execute();
      for (const r of rows) moved.add(keyOf(runId, r.task_id, r.map_index));
    }
  }
  const claimed: ClaimedTry[] = picked.filter((c) => moved.has(keyOf(c.run_id, c.task_id, c.map_index))).map((c) => ({
    dagId: c.dag_id, runId: c.run_id, taskId: c.task_id, mapIndex: Number(c.map_index), tryNumber: Number(c.try_number) + 1, pool: c.pool, queue: c.queue,
    isolation: (c.isolation ?? "process") as BackendName,
  }));
  for (let i = 0; i < claimed.length; i += TRIES_PER_INSERT) {
    await db.insertInto("task_tries").values(claimed.slice(i, i + TRIES_PER_INSERT).map((c) => ({
      run_id: c.runId, task_id: c.taskId, map_index: c.mapIndex, try_number: c.tryNumber, dag_id: c.dagId, state: "running", isolation: c.isolation,
      worker_id: request.workerId, hostname: request.hostname, handle: null, log_path: request.logPathOf(c), started_at: at,
      ended_at: null, exit_code: null, error: null,
    }))).execute();
  }
  await change(db, claimed.map((c) => ({ kind: "task", dagId: c.dagId, runId: c.runId, taskId: c.taskId, tryNumber: c.tryNumber, state: "running" })));
  return claimed;
}

/** The DAG whose turn it is: fewest running, then the higher head weight, then the longer waiting head. */
function pickDag(byDag: Map<string, Candidate[]>, usedByDag: Map<string, number>, boundOf: Map<string, number>): string | undefined {
  let best: { dag: string; used: number; head: Candidate } | undefined;
  for (const [dag, list] of byDag) {
    const head = list[0];
    if (!head) continue;
    const used = usedByDag.get(dag) ?? 0;
    if (used >= (boundOf.get(dag) ?? Infinity)) continue;
    const better = !best || used < best.used
      || (used === best.used && (Number(head.priority_weight) > Number(best.head.priority_weight)
        || (Number(head.priority_weight) === Number(best.head.priority_weight) && head.updated_at < best.head.updated_at)));
    if (better) best = { dag, used, head };
  }
  return best?.dag;
}
