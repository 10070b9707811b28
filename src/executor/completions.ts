/**
 * Group commit of try completions. Each supervisor asks for its try's end to be recorded; a completion that arrives
 * while the store is busy writing earlier ones waits for that write and then goes with every other completion that
 * arrived meanwhile, in one transaction. An idle worker therefore writes each completion at once, and a busy one
 * writes them in batches whose size follows the load, never waiting on a timer.
 */
import type { Store, TryFence, TryFinish, TryKeyRef, TryOutcome } from "../store/store.js";

/** @default 500 — completions per transaction at most. */
const MAX_BATCH = 500;

interface Pending extends TryFinish {
  resolve(ended: boolean): void;
  reject(err: unknown): void;
}

/** Writes try completions in batches through `Store.finishTries`. */
export class CompletionBatcher {
  private pending: Pending[] = [];
  private writing: Promise<void> | null = null;

  constructor(private readonly store: Pick<Store, "finishTries">, private readonly maxBatch = MAX_BATCH) {}

  /** Records a try's end; resolves as `Store.finishTry` would (false when the try was not running or not owned). */
  finish(key: TryKeyRef, outcome: TryOutcome, fence?: TryFence): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ key, outcome, fence, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  /** Resolves once every completion asked for so far is written. */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async write(batch: Pending[]): Promise<void> {
    const ended = await this.store.finishTries(batch.map(({ key, outcome, fence }) => ({ key, outcome, fence })));
    batch.forEach((p, i) => p.resolve(ended[i] ?? false));
  }

  private async drain(): Promise<void> {
    // Completions of the same turn of the event loop go together even when the store is idle.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        await this.write(batch);
      } catch {
        // One bad completion must not fail the others with it: each is written (or fails) on its own.
        for (const p of batch) await this.write([p]).catch((err: unknown) => p.reject(err));
      }
    }
    this.writing = null;
  }
}
