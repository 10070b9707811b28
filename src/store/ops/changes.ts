/** The change feed's writer: many rows in one statement, so a batched write appends its changes in one go. */
import type { Db } from "../kysely-store.js";
import type { ChangeEvent } from "../types.js";

/** A change-feed row before the store gives it an id and a time. */
export type NewChange = Omit<ChangeEvent, "id" | "at">;

/** Rows per insert: 7 parameters each stays far below SQLite's and Postgres's limits on bound parameters. */
const ROWS_PER_INSERT = 500;

/** Appends `changes` to the feed in order (ids rise in that order), inside the caller's write transaction. */
export async function insertChanges(db: Db, changes: NewChange[], at: string): Promise<void> {
  for (let i = 0; i < changes.length; i += ROWS_PER_INSERT) {
    await db.insertInto("changes").values(changes.slice(i, i + ROWS_PER_INSERT).map((c) => ({
      at, kind: c.kind, dag_id: c.dagId, run_id: c.runId, task_id: c.taskId, try_number: c.tryNumber, state: c.state,
    }))).execute();
  }
}
