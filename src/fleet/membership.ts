/**
 * A worker's membership of the fleet: it registers, heartbeats every executor.heartbeatMs on its own timer (a long
 * try or a slow pass never delays it), re-registers when it was declared lost, and knows when it has been out of
 * touch with the store for so long that the fleet will treat it as lost (it is then "fenced" and must stop its tries).
 */
import type { AirlockContext } from "../core/context.js";
import type { NewWorker } from "../store/store.js";

/** Registration and heartbeats of one worker. */
export class WorkerMembership {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> = Promise.resolve();
  private lastOk = Date.now();
  private complained = false;
  private stopped = false;

  constructor(private readonly ctx: AirlockContext, readonly info: NewWorker, private readonly onBeat: () => Promise<void>) {}

  /** Registers the worker and starts heartbeating. */
  async start(): Promise<void> {
    await this.ctx.store.registerWorker(this.info);
    this.lastOk = Date.now();
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.beat());
    }, this.ctx.config.executor.heartbeatMs);
  }

  /**
   * True once the last successful heartbeat is so old that the fleet may already have declared this worker lost
   * (one heartbeat of margin before executor.workerTimeoutMs): its tries may be retried elsewhere.
   */
  get fenced(): boolean {
    const { workerTimeoutMs, heartbeatMs } = this.ctx.config.executor;
    return Date.now() - this.lastOk > workerTimeoutMs - heartbeatMs;
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    // Counted from before the write: the fleet measures silence from the heartbeat's own time, never later.
    const asked = Date.now();
    try {
      const state = await this.ctx.store.heartbeatWorker(this.info.workerId);
      if (state !== "live") {
        process.stderr.write(`airlock worker ${this.info.workerId}: the fleet declared this worker ${state ?? "unknown"}; registering again (its earlier tries were taken over or failed)\n`);
        await this.ctx.store.registerWorker(this.info);
      }
      this.lastOk = asked;
      if (this.complained) process.stderr.write(`airlock worker ${this.info.workerId}: heartbeats reach the store again\n`);
      this.complained = false;
      // The sweep runs beside the heartbeats: a slow sweep must never delay the next heartbeat.
      void this.onBeat().catch(() => undefined);
    } catch (err) {
      if (!this.complained) process.stderr.write(`airlock worker ${this.info.workerId}: heartbeat failed (will retry): ${(err as Error).message}\n`);
      this.complained = true;
    }
  }

  /** Stops heartbeating and records the worker as stopped (its running tries are left to be adopted). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    await this.ctx.store.stopWorker(this.info.workerId).catch(() => undefined);
  }
}
