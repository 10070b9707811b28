/**
 * Turns writes made by other processes (the CLI, an API on another host, a worker) into immediate work in this
 * one: the store signals that the change feed grew, the watcher reads the new rows and wakes the part that cares.
 * The scheduler's and executor's periodic sweeps remain as a safety net for lost signals.
 */
import type { Store } from "../store/store.js";
import type { ChangeEvent } from "../store/types.js";

/** What the watcher can wake. */
export interface WakeTargets {
  /** A DAG was paused, unpaused or changed: the scheduler should make a full pass now. */
  schedule?: () => void;
  /** A run was created or re-queued: start it now if nothing stands in its way. */
  runQueued?: (runId: string) => void;
  /**
   * A task of this run moved (ended, was cleared or marked): evaluate the run now; `tasks`: the tasks whose tries
   * ended, when that is all that happened to the run (a clear or a change without a task asks for the whole run).
   */
  runChanged?: (runId: string, tasks?: string[]) => void;
  /** A task was queued or a slot freed: the executor should claim now. */
  claim?: () => void;
  /** True for a try's end that this process recorded and already evaluated its run for (no second evaluation). */
  handledHere?: (change: ChangeEvent) => boolean;
}

const TASK_ENDS = new Set(["success", "failed", "skipped", "upstream_failed", "up_for_retry", "up_for_reschedule", "deferred", "none"]);

/** Reads the change feed whenever the store signals, and dispatches what it finds. */
export class ChangeWatcher {
  private lastId = 0;
  private reading: Promise<void> | null = null;
  private again = false;
  private unsubscribe: (() => Promise<void>) | null = null;
  private stopped = false;

  constructor(private readonly store: Store, private readonly targets: WakeTargets) {}

  /** Starts watching from the feed's current end. Idempotent. */
  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.lastId = await this.store.latestChangeId();
    this.unsubscribe = await this.store.watchChanges(() => this.signal());
  }

  /** Stops watching and waits for a read in flight. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    const u = this.unsubscribe;
    this.unsubscribe = null;
    await u?.().catch(() => undefined);
    await this.reading;
  }

  private signal(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        await this.read();
      } while (this.again && !this.stopped);
    })().catch(() => {
      // A store hiccup: the next signal or the sweep picks the changes up.
    }).finally(() => {
      this.reading = null;
    });
  }

  private async read(): Promise<void> {
    for (;;) {
      const batch = await this.store.listChangesSince(this.lastId, 500);
      if (batch.length === 0 || this.stopped) return;
      this.lastId = batch[batch.length - 1]?.id ?? this.lastId;
      this.dispatch(batch);
      if (batch.length < 500) return;
    }
  }

  private dispatch(batch: ChangeEvent[]): void {
    let schedule = false;
    let claim = false;
    // Per run, the tasks whose tries ended, or null when the whole run must be evaluated.
    const runs = new Map<string, Set<string> | null>();
    const queuedRuns = new Set<string>();
    for (const c of batch) {
      if (c.kind === "dag") schedule = true;
      if (c.kind === "run" && c.state === "queued" && c.runId) queuedRuns.add(c.runId);
      if (c.kind !== "task" || !c.runId) continue;
      if (c.state === "queued") claim = true;
      else if (c.state && TASK_ENDS.has(c.state)) {
        if (!this.targets.handledHere?.(c)) {
          const tasks = runs.has(c.runId) ? runs.get(c.runId) : new Set<string>();
          if (tasks && c.taskId && c.state !== "none") runs.set(c.runId, tasks.add(c.taskId));
          else runs.set(c.runId, null);
        }
        // A try that ended frees its pool slot and DAG share, for this worker too.
        claim = true;
      }
    }
    if (schedule) this.targets.schedule?.();
    for (const r of queuedRuns) this.targets.runQueued?.(r);
    for (const [r, tasks] of runs) this.targets.runChanged?.(r, tasks ? [...tasks] : undefined);
    if (claim) this.targets.claim?.();
  }
}
