/**
 * Live log lines of every try of one run, prefixed with their task, as they are written: what `dags test` prints
 * while tasks run (not when they end).
 */
import type { AirlockContext } from "../core/context.js";
import { readLogChunk } from "../core/logs.js";

/** Follows the logs of a run's tries; `flush(task)` prints what is left of a task's tries, `stop()` ends it. */
export class RunLogTail {
  private readonly offsets = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: AirlockContext, private readonly runId: string, private readonly write: (text: string) => void, private readonly everyMs = 150) {}

  /** Starts polling the run's running tries. */
  start(): void {
    const tick = () => {
      this.busy = this.busy.then(() => this.poll()).catch(() => undefined);
      this.timer = setTimeout(tick, this.everyMs);
    };
    this.timer = setTimeout(tick, this.everyMs);
  }

  /** Prints the rest of every try of `taskId` up to `tryNumber` (called when the task ended). */
  async flush(taskId: string, tryNumber: number): Promise<void> {
    await (this.busy = this.busy.then(async () => {
      for (let n = 1; n <= tryNumber; n++) await this.read(taskId, n, true);
    }).catch(() => undefined));
  }

  /** Stops polling. Idempotent. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.busy;
  }

  private async poll(): Promise<void> {
    for (const ti of await this.ctx.store.listTaskInstances(this.runId)) {
      if (ti.state === "running" && ti.tryNumber > 0) await this.read(ti.taskId, ti.tryNumber, false);
    }
  }

  private async read(taskId: string, tryNumber: number, toEnd: boolean): Promise<void> {
    const key = `${taskId}/${tryNumber}`;
    let offset = this.offsets.get(key) ?? 0;
    for (;;) {
      const chunk = await readLogChunk(this.ctx, { runId: this.runId, taskId, tryNumber }, offset, 1 << 20).catch(() => null);
      if (!chunk || chunk.nextOffset <= offset) break;
      offset = chunk.nextOffset;
      const lines = chunk.text.split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      if (lines.length > 0) this.write(lines.map((l) => `${taskId} | ${l}\n`).join(""));
      if (!toEnd) break;
    }
    this.offsets.set(key, offset);
  }
}
