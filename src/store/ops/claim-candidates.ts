/**
 * The best few queued instances of every DAG, for a fair claim. Ranking every queued row on each claim (a window
 * over all of them) cost a sort of the whole backlog per claim: 20 ms for 6,000 queued rows on Postgres, which
 * capped a fleet at a few hundred transitions a second. Instead a partial index holds only queued rows, in claim
 * order within each queue and DAG; the DAGs with queued work are found by skipping through it (one probe per DAG),
 * and each DAG's best few are the first entries of its range. Both stay cheap however long the backlog is.
 */
import { sql, type Selectable } from "kysely";
import type { Db } from "../kysely-store.js";
import type { TaskInstancesTable } from "../schema.js";

/** A queued task instance as the claim sees it. */
export type Candidate = Selectable<TaskInstancesTable> & { priority_weight: number };

/** Claim order within a DAG: the highest effective weight, then the longest queued, then by id. */
export function claimOrder(a: Candidate, b: Candidate): number {
  const w = Number(b.priority_weight) - Number(a.priority_weight);
  if (w !== 0) return w;
  if (a.updated_at !== b.updated_at) return a.updated_at < b.updated_at ? -1 : 1;
  if (a.run_id !== b.run_id) return a.run_id < b.run_id ? -1 : 1;
  return a.task_id < b.task_id ? -1 : a.task_id > b.task_id ? 1 : 0;
}

// The literal state = 'queued' (not a bound parameter) lets SQLite match the partial index's WHERE clause.
const dagsWithQueued = (queue: string) => sql<{ dag_id: string | null }>`
  with recursive d(dag_id) as (
    select min(dag_id) from task_instances where state = 'queued' and queue = ${queue}
    union all
    select (select min(x.dag_id) from task_instances x where x.state = 'queued' and x.queue = ${queue} and x.dag_id > d.dag_id)
    from d where d.dag_id is not null
  ) select dag_id from d where dag_id is not null`;

/**
 * Up to `perDag` best queued instances of each DAG with queued work in `queues`, leaving out instances of the `full`
 * pools (a full pool's backlog must not fill every DAG's window and starve the pools that have room) and of the
 * `fullTasks` at their maxActiveTisPerDag.
 */
export async function queuedCandidates(db: Db, dialect: "sqlite" | "postgres", queues: string[], full: string[], perDag: number, fullTasks: Array<{ dagId: string; taskId: string }> = []): Promise<Map<string, Candidate[]>> {
  const poolFilter = sql`${full.length > 0 ? sql`and ti.pool not in (${sql.join(full)})` : sql``} ${fullTasks.length > 0
    ? sql`and not (${sql.join(fullTasks.map((t) => sql`(ti.dag_id = ${t.dagId} and ti.task_id = ${t.taskId})`), sql` or `)})` : sql``}`;
  const order = sql`order by ti.priority_weight desc, ti.updated_at asc, ti.run_id, ti.task_id limit ${perDag}`;
  const rows: Candidate[] = [];
  for (const queue of queues) {
    if (dialect === "postgres") {
      // One statement: the skip scan of the DAGs, and each DAG's range read through a lateral join.
      const r = await sql<Candidate>`
        select c.* from (${dagsWithQueued(queue)}) d cross join lateral (
          select ti.* from task_instances ti where ti.state = 'queued' and ti.queue = ${queue} and ti.dag_id = d.dag_id ${poolFilter} ${order}
        ) c`.execute(db);
      rows.push(...r.rows);
    } else {
      // SQLite runs in this process: a statement per DAG costs microseconds.
      for (const { dag_id } of (await dagsWithQueued(queue).execute(db)).rows) {
        const r = await sql<Candidate>`select ti.* from task_instances ti
          where ti.state = 'queued' and ti.queue = ${queue} and ti.dag_id = ${dag_id} ${poolFilter} ${order}`.execute(db);
        rows.push(...r.rows);
      }
    }
  }
  const byDag = new Map<string, Candidate[]>();
  for (const r of rows) {
    const list = byDag.get(r.dag_id);
    if (list) list.push(r);
    else byDag.set(r.dag_id, [r]);
  }
  // Several queues: merge each DAG's lists into one claim order.
  if (queues.length > 1) for (const [dag, list] of byDag) byDag.set(dag, list.sort(claimOrder).slice(0, perDag));
  return byDag;
}
