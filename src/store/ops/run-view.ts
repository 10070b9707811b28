/**
 * What the scheduler reads to evaluate a run: every unmapped instance, the mapped instances it may act on (not yet
 * queued, or waiting for a retry or a poke), and the others of each mapped task only as counts by state and queue.
 * Reading all 10,000 instances of a mapped task as objects on every evaluation (each finished try asks for one) made
 * a wide map quadratic; counting them is a scan in the database.
 */
import { sql } from "kysely";
import type { Db } from "../kysely-store.js";
import type { RunInstancesView, TaskInstance, TaskState } from "../types.js";

/** Mapped instances in these states are read as rows: the evaluation may move them. */
export const ACTIONABLE_STATES: TaskState[] = ["none", "scheduled", "up_for_retry", "up_for_reschedule"];

/** The run's instances as the evaluation needs them (`toTi` turns a row into an instance). */
export async function runInstancesView(db: Db, runId: string, toTi: (r: never) => TaskInstance): Promise<RunInstancesView> {
  const rows = await db.selectFrom("task_instances").selectAll().where("run_id", "=", runId)
    .where((eb) => eb.or([eb("map_index", "<", 0), eb("state", "in", ACTIONABLE_STATES)])).execute();
  const groups = await sql<{ task_id: string; state: string; queue: string; n: number | string; end_date: string | null; try_number: number | string }>`
    select task_id, state, queue, count(*) as n, max(end_date) as end_date, max(try_number) as try_number from task_instances
    where run_id = ${runId} and map_index >= 0 and state not in (${sql.join(ACTIONABLE_STATES)})
    group by task_id, state, queue`.execute(db);
  return {
    instances: rows.map((r) => toTi(r as never)),
    counted: groups.rows.map((g) => ({
      taskId: g.task_id, state: g.state as TaskState, queue: g.queue, count: Number(g.n), endDate: g.end_date, tryNumber: Number(g.try_number),
    })),
  };
}
