/**
 * Deferred sensors (Airflow's triggerer): a sensor in mode "deferrable" ends its try's process at once and leaves a
 * trigger row — a declarative check (time, file, external task, HTTP) — that one live worker's trigger loop owns
 * and evaluates. The task instance waits in state `deferred`, holding no slot; the try stays open (`deferred`)
 * until the trigger fires, times out, or its instance was marked or cleared.
 */
import type { Db } from "../kysely-store.js";
import type { Migration } from "../migrations.js";
import type { TryKeyRef, TryOutcome } from "../store.js";
import type { ChangeEvent } from "../types.js";

type Change = (db: Db, c: Omit<ChangeEvent, "id" | "at">) => Promise<void>;

/** A stored trigger. */
export interface TriggerRecord {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  tryNumber: number;
  /** The declarative check (see triggers/spec.ts); JSON. */
  spec: Record<string, unknown>;
  /** Worker whose trigger loop evaluates it; null until one claims it. */
  owner: string | null;
  createdAt: string;
}

export const TRIGGER_MIGRATIONS: Migration[] = [
  {
    id: 51,
    name: "deferred triggers",
    breaking: false,
    sql: () => [
      `create table triggers (run_id text not null, task_id text not null, map_index integer not null, try_number integer not null,
        dag_id text not null, spec text not null, owner text, created_at text not null, primary key (run_id, task_id, map_index))`,
      "create index triggers_owner on triggers (owner)",
    ],
  },
];

const keyOf = (k: TryKeyRef) => ({ run_id: k.runId, task_id: k.taskId, map_index: k.mapIndex ?? -1 });

/** Parks a running try as deferred with its trigger; false when the try was no longer running. */
export async function deferTry(db: Db, key: TryKeyRef & { dagId: string }, spec: Record<string, unknown>, owner: string, change: Change): Promise<boolean> {
  const k = keyOf(key);
  const r = await db.updateTable("task_instances").set({ state: "deferred", updated_at: new Date().toISOString() })
    .where("run_id", "=", k.run_id).where("task_id", "=", k.task_id).where("map_index", "=", k.map_index)
    .where("try_number", "=", key.tryNumber).where("state", "=", "running").executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  await db.updateTable("task_tries").set({ state: "deferred" }).where("run_id", "=", k.run_id).where("task_id", "=", k.task_id)
    .where("map_index", "=", k.map_index).where("try_number", "=", key.tryNumber).execute();
  await db.deleteFrom("triggers").where("run_id", "=", k.run_id).where("task_id", "=", k.task_id).where("map_index", "=", k.map_index).execute();
  await db.insertInto("triggers").values({ ...k, try_number: key.tryNumber, dag_id: key.dagId, spec: JSON.stringify(spec), owner, created_at: new Date().toISOString() }).execute();
  await change(db, { kind: "task", dagId: key.dagId, runId: key.runId, taskId: key.taskId, tryNumber: key.tryNumber, state: "deferred" });
  return true;
}

/** Takes over triggers that have no owner or whose owner is no longer a live worker; returns how many. */
export async function claimTriggers(db: Db, owner: string): Promise<number> {
  const live = db.selectFrom("workers").select("worker_id").where("state", "=", "live");
  const r = await db.updateTable("triggers").set({ owner })
    .where((eb) => eb.or([eb("owner", "is", null), eb("owner", "not in", live)])).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The triggers a worker owns. */
export async function ownedTriggers(db: Db, owner: string): Promise<TriggerRecord[]> {
  const rows = await db.selectFrom("triggers").selectAll().where("owner", "=", owner).execute();
  return rows.map((r) => ({
    dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, mapIndex: Number(r.map_index), tryNumber: Number(r.try_number),
    spec: JSON.parse(r.spec) as Record<string, unknown>, owner: r.owner, createdAt: r.created_at,
  }));
}

/**
 * Ends a deferred try with `outcome` (only while `owner` still owns its trigger and the instance is still deferred
 * on that try) and drops the trigger. Returns "done", "gone" (marked, cleared or taken over: trigger dropped if
 * still ours) or "lost" (another worker owns it now).
 */
export async function completeTrigger(db: Db, key: TryKeyRef, owner: string, outcome: TryOutcome, change: Change): Promise<"done" | "gone" | "lost"> {
  const k = keyOf(key);
  const trigger = await db.selectFrom("triggers").select(["owner", "try_number", "dag_id"]).where("run_id", "=", k.run_id)
    .where("task_id", "=", k.task_id).where("map_index", "=", k.map_index).executeTakeFirst();
  if (!trigger || Number(trigger.try_number) !== key.tryNumber) return "gone";
  if (trigger.owner !== owner) return "lost";
  await db.deleteFrom("triggers").where("run_id", "=", k.run_id).where("task_id", "=", k.task_id).where("map_index", "=", k.map_index).execute();
  const at = new Date().toISOString();
  const ti = await db.updateTable("task_instances").set({ state: outcome.taskState, end_date: at, not_before: null, updated_at: at })
    .where("run_id", "=", k.run_id).where("task_id", "=", k.task_id).where("map_index", "=", k.map_index)
    .where("try_number", "=", key.tryNumber).where("state", "=", "deferred").executeTakeFirst();
  await db.updateTable("task_tries").set({ state: outcome.state, ended_at: at, exit_code: null, error: outcome.error ? JSON.stringify(outcome.error) : null })
    .where("run_id", "=", k.run_id).where("task_id", "=", k.task_id).where("map_index", "=", k.map_index)
    .where("try_number", "=", key.tryNumber).where("state", "=", "deferred").execute();
  if (Number(ti.numUpdatedRows) === 0) return "gone";
  if (outcome.xcomJson !== undefined && outcome.xcomJson !== null) {
    await db.insertInto("xcoms").values({ ...k, try_number: key.tryNumber, value: outcome.xcomJson, size: Buffer.byteLength(outcome.xcomJson), created_at: at }).execute();
  }
  await change(db, { kind: "task", dagId: trigger.dag_id, runId: key.runId, taskId: key.taskId, tryNumber: key.tryNumber, state: outcome.taskState });
  return "done";
}
