/**
 * What the scheduler reads to evaluate a run: every unmapped instance, the mapped instances it may act on (not yet
 * queued, or waiting for a retry or a poke), and the others of each mapped task only as counts by state and queue.
 * Reading all 10,000 instances of a mapped task as objects on every evaluation (each finished try asks for one) made
 * a wide map quadratic; counting them is a scan in the database.
 */
import { sql } from "kysely";
import type { Db } from "../kysely-store.js";
import { FINISHED_TASK_STATES, type RunInstancesView, type TaskInstance, type TaskState } from "../types.js";

/** Mapped instances in these states are read as rows: the evaluation may move them. */
export const ACTIONABLE_STATES: TaskState[] = ["none", "scheduled", "up_for_retry", "up_for_reschedule"];

/** Most task ids a view of some tasks names in one statement; the evaluator reads the whole run beyond that. */
export const MAX_VIEW_TASKS = 500;

/**
 * The run's instances as the evaluation needs them (`toTi` turns a row into an instance); with `taskIds`, only
 * those tasks' (an evaluation of what one try's end can change reads a few rows, not the whole run).
 */
export async function runInstancesView(db: Db, runId: string, toTi: (r: never) => TaskInstance, taskIds?: readonly string[]): Promise<RunInstancesView> {
  if (taskIds && taskIds.length === 0) return { instances: [], counted: [] };
  if (taskIds && taskIds.length > MAX_VIEW_TASKS) throw new RangeError(`a run view names at most ${MAX_VIEW_TASKS} tasks (${taskIds.length} given)`);
  const some = taskIds ? sql` and task_id in (${sql.join([...taskIds])})` : sql``;
  let rows = db.selectFrom("task_instances").selectAll().where("run_id", "=", runId)
    .where((eb) => eb.or([eb("map_index", "<", 0), eb("state", "in", ACTIONABLE_STATES)]));
  if (taskIds) rows = rows.where("task_id", "in", [...taskIds]);
  const groups = await sql<{ task_id: string; state: string; queue: string; n: number | string; end_date: string | null; try_number: number | string }>`
    select task_id, state, queue, count(*) as n, max(end_date) as end_date, max(try_number) as try_number from task_instances
    where run_id = ${runId} and map_index >= 0 and state not in (${sql.join(ACTIONABLE_STATES)})${some}
    group by task_id, state, queue`.execute(db);
  const found = await rows.execute();
  return {
    instances: found.map((r) => toTi(r as never)),
    counted: groups.rows.map((g) => ({
      taskId: g.task_id, state: g.state as TaskState, queue: g.queue, count: Number(g.n), endDate: g.end_date, tryNumber: Number(g.try_number),
    })),
  };
}

/** Per run, the unfinished instance the last check found: it is read first next time (a hint, always verified). */
const lastUnfinished = new Map<string, { taskId: string; mapIndex: number }>();

/**
 * True while any instance of the run has not finished. The instance found last time is looked up first; only when
 * it has finished is the run scanned (up to the first unfinished one), so a check costs a point read most times.
 */
export async function hasUnfinishedTasks(db: Db, runId: string): Promise<boolean> {
  const hint = lastUnfinished.get(runId);
  if (hint) {
    const row = await db.selectFrom("task_instances").select("state").where("run_id", "=", runId).where("task_id", "=", hint.taskId)
      .where("map_index", "=", hint.mapIndex).executeTakeFirst();
    if (row && !FINISHED_TASK_STATES.includes(row.state as TaskState)) return true;
  }
  const row = await db.selectFrom("task_instances").select(["task_id", "map_index"]).where("run_id", "=", runId)
    .where("state", "not in", [...FINISHED_TASK_STATES]).limit(1).executeTakeFirst();
  if (!row) {
    lastUnfinished.delete(runId);
    return false;
  }
  // Bounded: hints of runs long finished are dropped wholesale.
  if (lastUnfinished.size >= 1000) lastUnfinished.clear();
  lastUnfinished.set(runId, { taskId: row.task_id, mapIndex: Number(row.map_index) });
  return true;
}
