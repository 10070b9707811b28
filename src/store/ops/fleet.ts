/** Store operations of the worker fleet: registration, heartbeats, declaring workers lost, and fenced adoption. */
import type { Selectable } from "kysely";
import type { Db } from "../kysely-store.js";
import type { WorkersTable } from "../schema.js";
import type { NewWorker, TryFence, TryKeyRef } from "../store.js";
import type { WorkerRecord, WorkerState } from "../types.js";

/** Ended workers without running tries are forgotten after this long. */
const FORGET_AFTER_MS = 86_400_000;

function toWorker(r: Selectable<WorkersTable>): WorkerRecord {
  return {
    workerId: r.worker_id, hostname: r.hostname, machine: r.machine, pid: Number(r.pid),
    queues: JSON.parse(r.queues) as string[], backends: JSON.parse(r.backends) as string[], version: r.version,
    startedAt: r.started_at, heartbeatAt: new Date(Number(r.heartbeat_at)).toISOString(), state: r.state as WorkerState,
    stateChangedAt: r.state_changed_at,
  };
}

/** Inserts the worker, or makes an existing row live again. */
export async function registerWorker(db: Db, w: NewWorker): Promise<void> {
  const at = new Date();
  const values = {
    hostname: w.hostname, machine: w.machine, pid: w.pid, queues: JSON.stringify(w.queues), backends: JSON.stringify(w.backends),
    version: w.version, heartbeat_at: at.getTime(), state: "live", state_changed_at: at.toISOString(),
  };
  const r = await db.updateTable("workers").set(values).where("worker_id", "=", w.workerId).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) await db.insertInto("workers").values({ worker_id: w.workerId, started_at: at.toISOString(), ...values }).execute();
}

/** Heartbeats a live worker; returns its state. */
export async function heartbeatWorker(db: Db, workerId: string): Promise<WorkerState | undefined> {
  await db.updateTable("workers").set({ heartbeat_at: Date.now() }).where("worker_id", "=", workerId).where("state", "=", "live").execute();
  const row = await db.selectFrom("workers").select("state").where("worker_id", "=", workerId).executeTakeFirst();
  return row?.state as WorkerState | undefined;
}

/** Marks a worker stopped, its last heartbeat now. */
export async function stopWorker(db: Db, workerId: string): Promise<void> {
  await db.updateTable("workers").set({ state: "stopped", heartbeat_at: Date.now(), state_changed_at: new Date().toISOString() })
    .where("worker_id", "=", workerId).execute();
}

/** Every worker, live first. */
export async function listWorkers(db: Db): Promise<WorkerRecord[]> {
  const rows = await db.selectFrom("workers").selectAll().orderBy("hostname").orderBy("started_at").execute();
  const rank = (s: string) => (s === "live" ? 0 : s === "lost" ? 1 : 2);
  return rows.map(toWorker).sort((a, b) => rank(a.state) - rank(b.state));
}

/** Declares silent (or known dead) live workers lost; forgets long-ended workers that own no running try. */
export async function declareLostWorkers(db: Db, timeoutMs: number, ids: string[] = []): Promise<WorkerRecord[]> {
  const t = Date.now();
  const at = new Date(t).toISOString();
  let q = db.selectFrom("workers").selectAll().where("state", "=", "live");
  q = ids.length > 0 ? q.where((eb) => eb.or([eb("heartbeat_at", "<", t - timeoutMs), eb("worker_id", "in", ids)])) : q.where("heartbeat_at", "<", t - timeoutMs);
  const lost = await q.execute();
  for (const w of lost) {
    await db.updateTable("workers").set({ state: "lost", state_changed_at: at }).where("worker_id", "=", w.worker_id).where("state", "=", "live").execute();
  }
  const busy = db.selectFrom("task_tries").select("worker_id").where("state", "=", "running");
  await db.deleteFrom("workers").where("state", "!=", "live").where("heartbeat_at", "<", t - FORGET_AFTER_MS).where("worker_id", "not in", busy).execute();
  return lost.map((w) => ({ ...toWorker(w), state: "lost", stateChangedAt: at }));
}

/** Moves a running try from `from` to `to`, raising its epoch; null when `from` no longer owns it. */
export async function adoptTry(db: Db, key: TryKeyRef, from: TryFence, to: { workerId: string; hostname: string }): Promise<TryFence | null> {
  const epoch = from.epoch + 1;
  const r = await db.updateTable("task_tries").set({ worker_id: to.workerId, hostname: to.hostname, epoch })
    .where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).where("try_number", "=", key.tryNumber)
    .where("state", "=", "running").where("worker_id", "=", from.workerId).where("epoch", "=", from.epoch).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1 ? { workerId: to.workerId, epoch } : null;
}
