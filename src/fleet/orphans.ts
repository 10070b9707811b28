/**
 * Tries whose worker is gone. Any live worker (and the leading scheduler) sweeps: it declares silent workers lost,
 * lets a live worker on the try's own host adopt it (the process, sandbox or container kept running there), and
 * fails the rest with "worker lost" evidence so that they follow their retries. Every step is a fenced, conditional
 * write: a try is adopted or failed exactly once, and only while its recorded owner is not live.
 */
import os from "node:os";
import type { AirlockContext } from "../core/context.js";
import { retryDelayMs } from "../executor/supervisor.js";
import { pidExists } from "../backends/process/proc.js";
import type { TryFence } from "../store/store.js";
import type { TaskTry, WorkerRecord } from "../store/types.js";

/** A worker that can take tries of its own host over. */
export interface Adopter {
  workerId: string;
  hostname: string;
  /** Supervises an adopted try (the store already names this worker its owner under `fence`). */
  adopt(t: TaskTry, fence: TryFence): void;
  /** Whether this worker supervises the try now. */
  supervising(t: TaskTry): boolean;
}

/** What one sweep did. */
export interface SweepResult {
  declaredLost: WorkerRecord[];
  adopted: TaskTry[];
  failed: TaskTry[];
}

/**
 * One sweep. `adopter` is the calling worker (null for a scheduler). A worker registered under the adopter's host
 * name on this very machine whose process is gone is declared lost at once (a restart after kill -9 adopts at once).
 */
export async function sweepOrphans(ctx: AirlockContext, adopter: Adopter | null, onFailed?: (runId: string) => void): Promise<SweepResult> {
  const { store } = ctx;
  const { workerTimeoutMs } = ctx.config.executor;
  const before = await store.listWorkers();
  const dead = adopter
    ? before.filter((w) => w.state === "live" && w.workerId !== adopter.workerId && w.hostname === adopter.hostname && w.machine === os.hostname() && !pidExists(w.pid)).map((w) => w.workerId)
    : [];
  const declaredLost = await store.declareLostWorkers(workerTimeoutMs, dead);
  for (const w of declaredLost) process.stderr.write(`airlock: worker ${w.workerId} on ${w.hostname} is lost (last heartbeat ${w.heartbeatAt})\n`);
  const workers = declaredLost.length > 0 ? await store.listWorkers() : before;
  const byId = new Map(workers.map((w) => [w.workerId, w]));
  const liveHosts = new Set(workers.filter((w) => w.state === "live").map((w) => w.hostname));
  const result: SweepResult = { declaredLost, adopted: [], failed: [] };
  for (const t of await store.listRunningTries()) {
    const owner = byId.get(t.workerId);
    if (adopter && t.workerId === adopter.workerId) {
      // A try this worker owns but does not supervise: its claim committed while the reply was lost, or its end
      // could not be recorded (the store was out of reach). Supervised again, it ends from what its files tell.
      const settled = Date.now() - Date.parse(t.startedAt) > 2 * ctx.config.executor.heartbeatMs;
      if (settled && !adopter.supervising(t)) {
        adopter.adopt(t, { workerId: t.workerId, epoch: t.epoch });
        result.adopted.push(t);
      }
      continue;
    }
    if (owner?.state === "live") continue;
    const from = { workerId: t.workerId, epoch: t.epoch };
    if (adopter && t.hostname === adopter.hostname) {
      const fence = await store.adoptTry(t, from, adopter);
      if (fence) {
        adopter.adopt({ ...t, workerId: fence.workerId, epoch: fence.epoch }, fence);
        result.adopted.push(t);
      }
      continue;
    }
    // A live worker of the try's host adopts it; a worker that stopped cleanly gets workerTimeoutMs to come back.
    if (liveHosts.has(t.hostname)) continue;
    const silentSince = owner ? Date.parse(owner.heartbeatAt) : 0;
    if (Date.now() - silentSince <= workerTimeoutMs) continue;
    if (await failLostTry(ctx, t, owner)) {
      result.failed.push(t);
      onFailed?.(t.runId);
    }
  }
  return result;
}

/** Ends a try of a lost worker as failed (retried when it has tries left); false when someone else got there first. */
async function failLostTry(ctx: AirlockContext, t: TaskTry, owner: WorkerRecord | undefined): Promise<boolean> {
  const { store } = ctx;
  const ti = await store.getTaskInstance(t.runId, t.taskId, t.mapIndex);
  const run = await store.getRun(t.runId);
  const task = run ? (await store.getDagVersion(run.versionHash))?.serialized.tasks[t.taskId] : undefined;
  const canRetry = ti !== undefined && ti.tryNumber === t.tryNumber && t.tryNumber < ti.maxTries;
  const delay = canRetry && task ? retryDelayMs(task, t.tryNumber) : 0;
  const who = owner ? `worker ${owner.workerId} on host ${owner.hostname} ${owner.state === "stopped" ? "stopped" : "went silent"} (last heartbeat ${owner.heartbeatAt})` : `worker ${t.workerId} on host ${t.hostname} is not registered`;
  const error = {
    type: "WorkerLost",
    message: `${who} and no live worker on that host could adopt the try, so its outcome is unknown${canRetry ? "; it is retried" : ""}`,
  };
  return store.finishTry(t, {
    state: "failed", taskState: canRetry ? "up_for_retry" : "failed", exitCode: null, error,
    notBefore: canRetry ? new Date(Date.now() + delay).toISOString() : null,
  }, { workerId: t.workerId, epoch: t.epoch });
}
