/**
 * Which tries ran in a reused runner (`reuse: true`): a column of task_tries set with the try's handle, so run views
 * (`tasks states`, the API's task instances) can say "sandbox (reused)" without reading every handle.
 */
import type { Db } from "../kysely-store.js";
import type { Migration } from "../migrations.js";

export const REUSED_MIGRATIONS: Migration[] = [
  {
    id: 90,
    name: "reused tries",
    breaking: false,
    sql: () => [
      `alter table task_tries add column reused integer not null default 0`,
      // Tries recorded before the column: their handle says it.
      `update task_tries set reused = 1 where handle like '%"reused":true%'`,
    ],
  },
];

/** A try that ran in a reused runner, by its instance and try number. */
export interface ReusedTry {
  taskId: string;
  mapIndex: number;
  tryNumber: number;
}

/** The tries of a run that ran in a reused runner. */
export async function listReusedTries(db: Db, runId: string): Promise<ReusedTry[]> {
  const rows = await db.selectFrom("task_tries").select(["task_id", "map_index", "try_number"]).where("run_id", "=", runId).where("reused", "=", 1).execute();
  return rows.map((r) => ({ taskId: r.task_id, mapIndex: Number(r.map_index ?? -1), tryNumber: Number(r.try_number) }));
}

/** Whether the instance's try `tryNumber` is among `reused`. */
export function ranReused(reused: ReusedTry[], t: { taskId: string; mapIndex: number; tryNumber: number }): boolean {
  return reused.some((r) => r.taskId === t.taskId && r.mapIndex === t.mapIndex && r.tryNumber === t.tryNumber);
}
