/**
 * The trigger loop (Airflow's triggerer) inside every worker: it owns deferred sensors' triggers — its own, unowned
 * ones, and those of workers that are no longer live (so a lost worker's waits move on, and a restart picks its
 * own back up from the store) — and checks each on its timer with asynchronous I/O. A thousand waits are a thousand
 * small records and timers here, not a thousand processes or slots. When a trigger fires, times out or fails, the
 * try ends and its log gets the reason.
 */
import { appendFileSync, existsSync } from "node:fs";
import type { AirlockContext } from "../core/context.js";
import type { TryOutcome } from "../store/store.js";
import type { TriggerRecord } from "../store/ops/triggers.js";
import { checkTrigger, type CheckResult, type TriggerSpec } from "./checks.js";

/** Lifecycle of the loop. */
export type TriggererState = "INITIALIZED" | "RUNNING" | "STOPPING" | "STOPPED";

/** Options of the loop. */
export interface TriggererOptions {
  /** The worker id triggers are owned by (the worker's registration makes ownership live). */
  owner: string;
  /** Called when a deferred try ended (the scheduler evaluates its run). */
  onFinished?: (runId: string) => void;
  /** Between two looks at the store. @default 500 */
  tickMs?: number;
  /** Checks running at once. @default 64 */
  concurrency?: number;
}

const keyOf = (t: TriggerRecord) => `${t.runId}\u0000${t.taskId}\u0000${t.mapIndex}\u0000${t.tryNumber}`;

/** Evaluates the deferred sensors a worker owns. */
export class Triggerer {
  state: TriggererState = "INITIALIZED";
  /** When each owned trigger is next checked. */
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> = Promise.resolve();
  private lastClaim = 0;

  constructor(private readonly ctx: AirlockContext, private readonly options: TriggererOptions) {}

  /** Number of triggers this loop evaluates. */
  get waiting(): number {
    return this.due.size;
  }

  /** Starts the loop. Idempotent. */
  start(): void {
    if (this.state !== "INITIALIZED") return;
    this.state = "RUNNING";
    this.schedule(0);
  }

  /** Looks at the store now (a sensor was just deferred). */
  wake(): void {
    if (this.state === "RUNNING") this.schedule(0);
  }

  /** Stops the loop; its triggers stay in the store for the next owner. Idempotent. */
  async stop(): Promise<void> {
    if (this.state !== "RUNNING") {
      this.state = "STOPPED";
      return;
    }
    this.state = "STOPPING";
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    this.state = "STOPPED";
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = this.ticking.then(() => this.tick()).catch((err: Error) => {
        process.stderr.write(`airlock triggerer: ${err.message} (will retry)\n`);
      }).finally(() => {
        if (this.state === "RUNNING") this.schedule(this.options.tickMs ?? 500);
      });
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.state !== "RUNNING") return;
    const { store } = this.ctx;
    if (Date.now() - this.lastClaim >= 2000) {
      this.lastClaim = Date.now();
      await store.claimTriggers(this.options.owner);
    }
    const owned = await store.ownedTriggers(this.options.owner);
    const seen = new Set<string>();
    const now = Date.now();
    const dueNow: TriggerRecord[] = [];
    for (const t of owned) {
      const k = keyOf(t);
      seen.add(k);
      const at = this.due.get(k) ?? 0;
      if (at <= now) dueNow.push(t);
    }
    for (const k of this.due.keys()) if (!seen.has(k)) this.due.delete(k);
    const limit = this.options.concurrency ?? 64;
    for (let i = 0; i < dueNow.length && this.state === "RUNNING"; i += limit) {
      await Promise.all(dueNow.slice(i, i + limit).map((t) => this.evaluate(t)));
    }
  }

  private async evaluate(t: TriggerRecord): Promise<void> {
    const spec = t.spec as unknown as TriggerSpec;
    const k = keyOf(t);
    let result: CheckResult;
    try {
      result = await checkTrigger(this.ctx, spec);
    } catch (err) {
      result = { met: false, note: `check failed: ${(err as Error).message}` };
    }
    let outcome: TryOutcome | null = null;
    let line: string;
    if ("failed" in result) {
      outcome = { state: "failed", taskState: "failed", exitCode: null, error: result.failed };
      line = `trigger failed: ${result.failed.type}: ${result.failed.message}`;
    } else if (result.met) {
      outcome = { state: "success", taskState: "success", exitCode: null, error: null, xcomJson: JSON.stringify(result.xcom ?? null) };
      line = `trigger fired: ${result.note}; the sensor succeeded`;
    } else if (Date.now() >= Date.parse(spec.deadline)) {
      const message = `${spec.target} was not ready by the sensor's timeout (${spec.deadline}): ${result.note}`;
      outcome = spec.softFail
        ? { state: "skipped", taskState: "skipped", exitCode: null, error: null }
        : { state: "failed", taskState: "failed", exitCode: null, error: { type: "SensorTimeout", message } };
      line = spec.softFail ? `${message} (soft fail: skipped)` : `SensorTimeout: ${message}`;
    } else {
      // Not yet: check again after the poke interval, or right at the target time of a time trigger.
      const next = Date.now() + spec.pokeIntervalMs;
      const at = spec.kind === "time" ? Math.min(next, Date.parse(spec.at)) : next;
      this.due.set(k, Math.min(at, Date.parse(spec.deadline)));
      return;
    }
    await this.note(t, line);
    const done = await this.ctx.store.completeTrigger(t, this.options.owner, outcome);
    this.due.delete(k);
    if (done === "done") this.options.onFinished?.(t.runId);
  }

  /** Appends the trigger's end to the try's log: the local file when it is here, and the store's shipped copy. */
  private async note(t: TriggerRecord, line: string): Promise<void> {
    const text = `[airlock] ${line}\n`;
    const row = await this.ctx.store.getTry(t);
    if (row?.logPath && existsSync(row.logPath)) appendFileSync(row.logPath, text);
    const { size } = await this.ctx.store.readLogChunks(t, 0, 1);
    await this.ctx.store.appendLogChunk(t, size, text);
  }
}
