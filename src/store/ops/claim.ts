/**
 * Claiming queued task instances fairly. Oldest-first across the whole store made one large DAG starve every
 * other: a 2,000-task run queues its tasks at once, and a 3-task DAG triggered after it waited behind all of them.
 * Instead each claim takes, one at a time, the best candidate of the DAG with the fewest running instances
 * (counting those claimed in this call), so every DAG with queued work gets a share of the free slots at once;
 * within a DAG the highest effective priority weight goes first, then the longest queued. A DAG at its
 * `maxActiveTasks` and a full pool get nothing.
 */
import { sql, type Selectable } from "kysely";
import type { BackendName } from "../../sdk/types.js";
import type { Db } from "../kysely-store.js";
import type { TaskInstancesTable } from "../schema.js";
import type { ClaimRequest, ClaimedTry } from "../store.js";
import type { NewChange } from "./changes.js";

/** Appends rows to the change feed inside the caller's transaction. */
export type ChangeWriter = (db: Db, changes: NewChange[]) => Promise<void>;

/** Task ids per UPDATE, and tries per INSERT (13 parameters each): inside every store's parameter limit. */
const IDS_PER_STATEMENT = 500;
const TRIES_PER_INSERT = 200;

type Candidate = Selectable<TaskInstancesTable> & { priority_weight: number };

/** Claims up to `request.limit` queued instances inside the caller's exclusive transaction. */
export async function claimFairly(db: Db, request: ClaimRequest, change: ChangeWriter): Promise<ClaimedTry[]> {
  const pools = new Map((await db.selectFrom("pools").selectAll().execute()).map((p) => [p.name, Number(p.slots)]));
  const running = await db.selectFrom("task_instances").select(["pool", "dag_id", (eb) => eb.fn.countAll<number>().as("n")])
    .where("state", "=", "running").groupBy(["pool", "dag_id"]).execute();
  const usedByPool = new Map<string, number>();
  const usedByDag = new Map<string, number>();
  for (const r of running) {
    usedByPool.set(r.pool, (usedByPool.get(r.pool) ?? 0) + Number(r.n));
    usedByDag.set(r.dag_id, (usedByDag.get(r.dag_id) ?? 0) + Number(r.n));
  }
  const slotsOf = (pool: string) => pools.get(pool) ?? pools.get("default") ?? 128;
  // Full pools are left out of the query: otherwise a backlog in one full pool fills every candidate window
  // and starves queued instances of pools that have room.
  const full = [...new Set([...pools.keys(), ...usedByPool.keys()])].filter((p) => (usedByPool.get(p) ?? 0) >= slotsOf(p));
  const bounds = await db.selectFrom("dag_runs").select(["dag_id", (eb) => eb.fn.min("max_active_tasks").as("m")])
    .where("state", "in", ["queued", "running"]).where("max_active_tasks", "is not", null).groupBy("dag_id").execute();
  const boundOf = new Map(bounds.map((b) => [b.dag_id, Number(b.m)]));

  // The best few candidates of every DAG, in one query (a window per DAG), rather than a global oldest-first cut.
  const perDag = request.limit + 8;
  const poolFilter = full.length > 0 ? sql`and pool not in (${sql.join(full)})` : sql``;
  const rows = await sql<Candidate>`
    select * from (
      select ti.*, row_number() over (partition by dag_id order by priority_weight desc, updated_at asc, run_id, task_id) as rn
      from task_instances ti
      where state = 'queued' and queue in (${sql.join(request.queues)}) ${poolFilter}
    ) ranked where rn <= ${perDag}
    order by dag_id, rn`.execute(db);
  const byDag = new Map<string, Candidate[]>();
  for (const r of rows.rows) {
    const list = byDag.get(r.dag_id) ?? [];
    list.push(r);
    byDag.set(r.dag_id, list);
  }

  // The choice is made in memory, one instance at a time; the writes then go in a few statements for the lot.
  // Nothing can change the candidates meanwhile: the caller holds the store's write lock.
  const picked: Candidate[] = [];
  while (picked.length < request.limit) {
    const next = pickDag(byDag, usedByDag, boundOf);
    if (!next) break;
    const c = (byDag.get(next) as Candidate[]).shift() as Candidate;
    if ((usedByPool.get(c.pool) ?? 0) >= slotsOf(c.pool)) continue;
    usedByPool.set(c.pool, (usedByPool.get(c.pool) ?? 0) + 1);
    usedByDag.set(c.dag_id, (usedByDag.get(c.dag_id) ?? 0) + 1);
    picked.push(c);
  }
  return writeClaims(db, request, picked, change);
}

/** Moves the picked instances to running and creates their tries: one UPDATE per run, one INSERT for the tries. */
async function writeClaims(db: Db, request: ClaimRequest, picked: Candidate[], change: ChangeWriter): Promise<ClaimedTry[]> {
  const at = new Date().toISOString();
  const byRun = new Map<string, Candidate[]>();
  for (const c of picked) byRun.set(c.run_id, [...(byRun.get(c.run_id) ?? []), c]);
  const moved = new Set<string>();
  for (const [runId, list] of byRun) {
    for (let i = 0; i < list.length; i += IDS_PER_STATEMENT) {
      const rows = await db.updateTable("task_instances").set((eb) => ({
        state: "running", try_number: eb("try_number", "+", 1), isolation: eb.fn.coalesce("isolation", sql.val("process")),
        start_date: at, end_date: null, updated_at: at,
      })).where("run_id", "=", runId).where("task_id", "in", list.slice(i, i + IDS_PER_STATEMENT).map((c) => c.task_id))
        .where("state", "=", "queued").returning(["task_id"]).execute();
      for (const r of rows) moved.add(`${runId}\u0000${r.task_id}`);
    }
  }
  const claimed: ClaimedTry[] = picked.filter((c) => moved.has(`${c.run_id}\u0000${c.task_id}`)).map((c) => ({
    dagId: c.dag_id, runId: c.run_id, taskId: c.task_id, tryNumber: Number(c.try_number) + 1, pool: c.pool, queue: c.queue,
    isolation: (c.isolation ?? "process") as BackendName,
  }));
  for (let i = 0; i < claimed.length; i += TRIES_PER_INSERT) {
    await db.insertInto("task_tries").values(claimed.slice(i, i + TRIES_PER_INSERT).map((c) => ({
      run_id: c.runId, task_id: c.taskId, try_number: c.tryNumber, dag_id: c.dagId, state: "running", isolation: c.isolation,
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
