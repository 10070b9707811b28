/**
 * Ships a try's masked log into the store while it runs (about once a second) and completely before the try is
 * recorded as ended, so the CLI and API on any host can show and follow it, and a worker that dies after a try
 * ended loses none of it. The local file stays the fast path on the host that runs the try.
 */
import type { ShippedLogPiece, Store, TryKeyRef } from "../store/store.js";

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
  /** Set on first use: where the shipped copy stands (see `start()`). */
  private ready: Promise<void> | null = null;

  /** `restart`: the log is being rebuilt from the start (an adoption). */
  constructor(private readonly store: Store, private readonly key: TryKeyRef, private readonly options: { intervalMs?: number; restart?: boolean } = {}) {
    this.timer = setInterval(() => void this.flush(), options.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Says the try has shipped nothing yet (its first launch): there is nothing to look up before the first write. */
  nothingShippedYet(): void {
    if (!this.options.restart) this.ready ??= Promise.resolve();
  }

  private start(): Promise<void> {
    // After an adoption the log is rebuilt from the raw output, so the shipped copy starts over too. Otherwise it
    // continues what is there: the next poke of a rescheduled sensor appends to the same try's log.
    this.ready ??= this.options.restart
      ? this.store.resetLogChunks(this.key).catch(() => undefined)
      : this.store.readLogChunks(this.key, Number.MAX_SAFE_INTEGER, 1).then((s) => {
        this.offset = s.size;
      }, () => undefined);
    return this.ready;
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
      await this.start();
      const piece = this.take();
      if (!piece) return;
      await this.store.appendLogChunk(this.key, piece.offset, piece.text, piece.times).catch(() => this.giveBack(piece));
    });
    return this.flushing;
  }

  /**
   * Stops the timer and hands over what is not shipped yet, for the caller to store with the try's end (one write
   * instead of two). If that write fails, `giveBack` it and `close()` ships it on its own.
   */
  async detachTail(): Promise<ShippedLogPiece | null> {
    clearInterval(this.timer);
    await this.flushing;
    await this.start();
    return this.take();
  }

  /** Takes what is buffered as the next piece of the shipped log (the offset moves past it). */
  private take(): ShippedLogPiece | null {
    if (!this.buffer) return null;
    const piece = { offset: this.offset, text: this.buffer, times: this.marks.map((m) => ({ offset: this.offset + m.offset, ms: m.ms })) };
    this.offset += this.bufferBytes;
    this.buffer = "";
    this.bufferBytes = 0;
    this.marks = [];
    return piece;
  }

  /** Takes back a piece whose write failed, before anything buffered since (it is shipped by the next flush). */
  giveBack(tail: ShippedLogPiece): void {
    const bytes = Buffer.byteLength(tail.text);
    this.offset = tail.offset;
    this.buffer = tail.text + this.buffer;
    this.marks = [...tail.times.map((m) => ({ offset: m.offset - tail.offset, ms: m.ms })), ...this.marks.map((m) => ({ offset: m.offset + bytes, ms: m.ms }))];
    this.bufferBytes += bytes;
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
