/**
 * Rescheduling sensors: an unsuccessful poke ends without consuming a try. Its try row goes (the next poke claims
 * the same try number again and appends to the same log), the instance waits in `up_for_reschedule` until the next
 * poke, and the time of the try's first poke is kept so the sensor's timeout spans all pokes.
 */
import type { Db } from "../kysely-store.js";
import type { TryKeyRef } from "../store.js";
import type { ChangeEvent } from "../types.js";

/** Ends a running poke and parks the instance until `nextPokeAt`; false when the try was no longer running. */
export async function rescheduleTry(db: Db, key: TryKeyRef, nextPokeAt: string, firstPokeAt: string, change: (db: Db, c: Omit<ChangeEvent, "id" | "at">) => Promise<void>): Promise<boolean> {
  const r = await db.updateTable("task_instances").set({
    state: "up_for_reschedule", try_number: key.tryNumber - 1, not_before: nextPokeAt, first_poke: `${key.tryNumber}|${firstPokeAt}`,
    updated_at: new Date().toISOString(),
  }).where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).where("try_number", "=", key.tryNumber).where("state", "=", "running").executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  await db.deleteFrom("task_tries").where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).where("try_number", "=", key.tryNumber).execute();
  const ti = await db.selectFrom("task_instances").select("dag_id").where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).executeTakeFirst();
  await change(db, { kind: "task", dagId: ti?.dag_id ?? null, runId: key.runId, taskId: key.taskId, tryNumber: key.tryNumber, state: "up_for_reschedule" });
  return true;
}

/** The first poke of this try of a rescheduling sensor, if an earlier poke of the same try was rescheduled. */
export async function firstPokeOf(db: Db, key: TryKeyRef): Promise<string | null> {
  const row = await db.selectFrom("task_instances").select("first_poke").where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).executeTakeFirst();
  const [tryNumber, at] = (row?.first_poke ?? "").split("|");
  return Number(tryNumber) === key.tryNumber && at ? at : null;
}
