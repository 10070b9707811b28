/**
 * Copies a try's raw output into its final log, line by line, with secrets replaced by ***. All I/O is
 * asynchronous and in bounded chunks, so a task printing gigabytes never stalls the orchestrator; the log stops at
 * a size cap with a marker line; consumed raw bytes are punched out of the raw file (see core/raw-log.ts).
 */
import { mkdir, open, readFile, truncate, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { charBoundary } from "../core/utf8.js";
import { LogTimesWriter, timesPath } from "../core/log-times.js";
import { countLines, punchHole, readProgress, saveProgress, type PumpProgress } from "../core/raw-log.js";
import type { Masker } from "../secrets/masker.js";

/** Options of a LogPump. */
export interface LogPumpOptions {
  /** Continue a pump of an earlier orchestrator process (adoption after a restart). */
  adopt?: boolean;
  /** Size cap of the final log in bytes (logs.maxBytesPerTry). @default 100 MiB */
  maxBytes?: number;
  /** Receives every masked piece written to the log, in order (the store's copy, see log-shipper.ts). */
  ship?: (masked: string) => void;
}

const CHUNK = 1 << 20;
/** A pump's first read buffer; it doubles (up to CHUNK) each time a read fills it. */
const FIRST_CHUNK = 64 << 10;
/** Bytes one `pump()` call reads at most, so the supervisor's other checks run in between. */
const BUDGET = 64 << 20;
/** A line longer than this is written in pieces. */
const LONG_LINE = 1 << 20;
/** Consumed raw bytes are punched out in steps of at least this much. */
const PUNCH_STEP = 16 << 20;
const EVENT_LINE = /^\u0000airlock:[0-9a-f]+:.*\n?/gm;

/** Tails `rawPath` into `logPath`; call `pump()` repeatedly and `finish()` once the try has ended. */
export class LogPump {
  private readonly maxBytes: number;
  private progress: PumpProgress = { offset: 0, lines: 0, written: 0, truncated: false, punched: 0 };
  /**
   * The pump's read buffer, kept between reads: a zero-filled megabyte per pump tick was most of a tiny try's garbage.
   * Each read's bytes are used (masked, written, or copied into `pending`) before the next read reuses it.
   */
  private buf: Buffer | null = null;
  /** Bytes read after the last line break, not yet written. */
  private pending: Buffer = Buffer.alloc(0);
  private log: FileHandle | null = null;
  private chain: Promise<unknown>;
  private canPunch = true;
  /** Progress changed since it was last saved. */
  private dirty = false;

  private readonly ship: ((masked: string) => void) | undefined;
  /** When each part of the log was written (see core/log-times.ts). */
  private readonly times: LogTimesWriter;

  constructor(private readonly rawPath: string, private readonly logPath: string, private masker: Masker, options: LogPumpOptions = {}) {
    this.maxBytes = options.maxBytes ?? 100 << 20;
    this.ship = options.ship;
    this.times = new LogTimesWriter(timesPath(logPath));
    this.chain = this.init(options.adopt === true);
  }

  /** No adoption can continue this pump (a reused runner's try ends with its orchestrator): progress is not saved. */
  private transient = false;

  /** Stops saving progress for a restarted orchestrator to continue from: the try cannot be adopted. */
  cannotBeAdopted(): void {
    this.transient = true;
  }

  /** Masks with `masker` from now on (the try's secrets are known only after its payload is built). */
  useMasker(masker: Masker): void {
    this.masker = masker;
  }

  /** Appends complete new lines, reading at most a bounded amount; resolves true when more output is waiting. */
  pump(): Promise<boolean> {
    return this.enqueue(() => this.drain(BUDGET));
  }

  /** Writes a line of the orchestrator's own into the log (also past the cap: they are few and short). */
  note(line: string): Promise<void> {
    return this.enqueue(async () => {
      await this.append(Buffer.from(this.masker.mask(`${line}\n`)), true);
      await this.save();
    });
  }

  /** Masks text (error messages) the same way as the log. */
  mask(text: string): string {
    return this.masker.mask(text);
  }

  /** Masks a JSON result (an XCom) the same way, keeping it valid JSON. */
  maskJson(json: string): string {
    return this.masker.maskJson(json);
  }

  /** Final pump to the end of the output, including a last line without newline. */
  finish(): Promise<void> {
    return this.enqueue(async () => {
      while (await this.drain(BUDGET));
      if (this.pending.length > 0) {
        await this.writeText(Buffer.concat([this.pending, Buffer.from("\n")]));
        this.pending = Buffer.alloc(0);
      }
      await this.save();
    });
  }

  /** Waits for queued writes and closes the log file; the pump may not be used afterwards. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      await this.log?.close();
      this.log = null;
      await this.times.close();
    });
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async init(adopt: boolean): Promise<void> {
    // Off the event loop: creating a directory costs up to a millisecond, and the try launches meanwhile.
    await mkdir(path.dirname(this.logPath), { recursive: true, mode: 0o700 });
    const saved = adopt ? readProgress(this.rawPath) : null;
    // Without saved progress an adopting pump copies the raw output again from the start (nothing is punched yet).
    if (saved) this.progress = saved;
    this.log = await open(this.logPath, saved ? "r+" : adopt ? "w" : "a", 0o600);
    await this.times.open(saved ? saved.written : adopt ? "reset" : "continue");
    if (saved) {
      await this.log.truncate(saved.written);
      // An adopting shipper starts its copy over: give it what the earlier process already wrote.
      if (this.ship && saved.written > 0) this.ship((await readFile(this.logPath)).toString("utf8"));
    } else this.progress.written = (await this.log.stat()).size;
  }

  private async drain(budget: number): Promise<boolean> {
    let raw;
    try {
      raw = await open(this.rawPath, "r");
    } catch {
      return false;
    }
    try {
      if (this.progress.truncated) {
        // Past the cap everything is dropped, unread: the raw file is emptied (writers append, so they go on at
        // its new end; what they add between the two calls is dropped anyway).
        if ((await raw.stat()).size > 0) await truncate(this.rawPath, 0);
        this.pending = Buffer.alloc(0);
        return false;
      }
      for (let read = 0; read < budget;) {
        const buf = (this.buf ??= Buffer.allocUnsafe(FIRST_CHUNK));
        const { bytesRead } = await raw.read(buf, 0, buf.length, this.progress.offset + this.pending.length);
        if (bytesRead <= 0) return false;
        read += bytesRead;
        await this.take(buf.subarray(0, bytesRead));
        // A task that writes a lot gets bigger reads.
        if (bytesRead === buf.length && buf.length < CHUNK) this.buf = Buffer.allocUnsafe(buf.length * 2);
      }
      return true;
    } finally {
      await raw.close();
      await this.save();
      await this.release();
    }
  }

  /** Handles one chunk of raw output: complete lines are written, the rest waits for its line break. */
  private async take(chunk: Buffer): Promise<void> {
    if (this.progress.truncated) {
      this.consumed(this.pending);
      this.pending = Buffer.alloc(0);
      this.consumed(chunk);
      return;
    }
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    const cut = data.lastIndexOf(0x0a) + 1;
    if (cut > 0) {
      // A line break is never inside a UTF-8 sequence, so complete lines decode exactly.
      await this.writeText(data.subarray(0, cut));
      data = data.subarray(cut);
    }
    if (data.length > LONG_LINE) {
      const at = charBoundary(data, data.length);
      await this.writeText(data.subarray(0, at));
      data = data.subarray(at);
    }
    this.pending = Buffer.from(data);
  }

  /** Masks and appends raw bytes that end on a character boundary; stops at the size cap. */
  private async writeText(bytes: Buffer): Promise<void> {
    if (this.progress.truncated) {
      this.consumed(bytes);
      return;
    }
    const text = this.masker.mask(bytes.toString("utf8").replace(EVENT_LINE, ""));
    let out = Buffer.from(text);
    const room = this.maxBytes - this.progress.written;
    if (out.length > room) {
      out = out.subarray(0, charBoundary(out, Math.max(0, room)));
      await this.append(out, false);
      this.consumed(bytes);
      this.progress.truncated = true;
      await this.append(Buffer.from(`\n[airlock] log truncated: the try's output passed the limit of ${this.maxBytes} bytes (logs.maxBytesPerTry); the rest was dropped\n`), true);
      return;
    }
    await this.append(out, false);
    this.consumed(bytes);
  }

  private consumed(bytes: Buffer): void {
    if (bytes.length > 0) this.dirty = true;
    this.progress.offset += bytes.length;
    this.progress.lines += countLines(bytes);
  }

  private async append(bytes: Buffer, forced: boolean): Promise<void> {
    if (!this.log || bytes.length === 0) return;
    if (!forced && this.progress.truncated) return;
    // The time goes on disk first: a reader never sees log bytes without the time they were written.
    await this.times.mark(this.progress.written);
    await this.log.write(bytes, 0, bytes.length, this.progress.written);
    this.progress.written += bytes.length;
    // Pieces end on character boundaries (writeText cuts there), so each decodes on its own.
    this.ship?.(bytes.toString("utf8"));
    this.dirty = true;
  }

  private async save(): Promise<void> {
    if (!this.dirty || this.transient) return;
    this.dirty = false;
    await saveProgress(this.rawPath, this.progress).catch(() => undefined);
  }

  /** Punches consumed bytes out of the raw file; only after the progress that covers them is saved. */
  private async release(): Promise<void> {
    if (this.progress.truncated) return;
    const to = Math.floor(this.progress.offset / 4096) * 4096;
    if (!this.canPunch || to - this.progress.punched < PUNCH_STEP) return;
    this.canPunch = await punchHole(this.rawPath, this.progress.punched, to);
    if (this.canPunch) {
      this.progress.punched = to;
      this.dirty = true;
      await this.save();
    }
  }
}
