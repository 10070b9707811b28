/**
 * Ships a try's masked log into the store while it runs (about once a second) and completely before the try is
 * recorded as ended, so the CLI and API on any host can show and follow it, and a worker that dies after a try
 * ended loses none of it. The local file stays the fast path on the host that runs the try.
 */
import type { Store, TryKeyRef } from "../store/store.js";

/** Bytes buffered before a flush is started without waiting for the timer. */
const EAGER_BYTES = 256 * 1024;
/** Pieces pushed closer together than this share the earlier time mark (as in core/log-times.ts). */
const MARK_EVERY_MS = 100;

/** Buffers log text and appends it to the store in order. */
export class LogShipper {
  private offset = 0;
  private buffer = "";
  /** Bytes in `buffer`, and when its parts were pushed (offsets relative to the buffer's start). */
  private bufferBytes = 0;
  private marks: Array<{ offset: number; ms: number }> = [];
  private lastMarkMs = -Infinity;
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private ready: Promise<void>;

  constructor(private readonly store: Store, private readonly key: TryKeyRef, options: { intervalMs?: number; restart?: boolean } = {}) {
    // After an adoption the log is rebuilt from the raw output, so the shipped copy starts over too. Otherwise it
    // continues what is there: the next poke of a rescheduled sensor appends to the same try's log.
    this.ready = options.restart
      ? store.resetLogChunks(key).catch(() => undefined)
      : store.readLogChunks(key, Number.MAX_SAFE_INTEGER, 1).then((s) => {
        this.offset = s.size;
      }, () => undefined);
    this.timer = setInterval(() => void this.flush(), options.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Queues masked log text, noting when it was written (each shipped piece starts with a mark). */
  push(text: string, now = Date.now()): void {
    if (this.marks.length === 0 || now - this.lastMarkMs >= MARK_EVERY_MS) {
      this.marks.push({ offset: this.bufferBytes, ms: now });
      this.lastMarkMs = now;
    }
    this.buffer += text;
    this.bufferBytes += Buffer.byteLength(text);
    if (this.buffer.length >= EAGER_BYTES) void this.flush();
  }

  /** Appends what is buffered; a failed append is kept and retried by the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      await this.ready;
      if (!this.buffer) return;
      const text = this.buffer;
      const bytes = this.bufferBytes;
      const marks = this.marks;
      this.buffer = "";
      this.bufferBytes = 0;
      this.marks = [];
      try {
        await this.store.appendLogChunk(this.key, this.offset, text, marks.map((m) => ({ offset: this.offset + m.offset, ms: m.ms })));
        this.offset += bytes;
      } catch {
        this.buffer = text + this.buffer;
        this.marks = [...marks, ...this.marks.map((m) => ({ offset: m.offset + bytes, ms: m.ms }))];
        this.bufferBytes += bytes;
      }
    });
    return this.flushing;
  }

  /** Stops the timer and ships the rest; resolves false if the store refused it (the local file still has it). Idempotent. */
  async close(): Promise<boolean> {
    clearInterval(this.timer);
    for (let attempt = 0; attempt < 5; attempt++) {
      await this.flush();
      if (!this.buffer) return true;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
    return false;
  }
}
