/**
 * Splits a container's output into the try's two files: stdout lines tagged with the try's nonce are events
 * (written to eventsPath as NDJSON, without the tag), everything else is the raw log, streamed line by line.
 * Re-attaching after a crash replays output from the start: lines already in the files are skipped by count
 * (raw log) and by sequence number (events), so nothing is written twice.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { Writable } from "node:stream";
import { rawLineCount } from "../../core/raw-log.js";
import { EVENT_PREFIX, decodeEvent } from "../../runner/protocol.js";

/** What a demuxer needs to know. */
export interface DemuxOptions {
  rawLogPath: string;
  eventsPath: string;
  /** Per-try nonce; null = the output carries no events (a plain image run by the container operator). */
  nonce: string | null;
  /** Secret values replaced by *** in every raw line. */
  masks?: string[];
  /**
   * Receives the events (NDJSON lines) instead of `eventsPath`: for a try no restarted orchestrator can adopt (a
   * reused runner's), whose events need not outlive this process.
   */
  eventSink?: string[];
}

/** How much of a try's output is already in its files (for adoption). */
export interface WrittenSoFar {
  rawLines: number;
  maxSeq: number;
}

/**
 * Counts the raw log's complete lines (including those the log pump consumed and punched out) and the highest
 * event sequence number already written.
 */
export async function writtenSoFar(rawLogPath: string, eventsPath: string): Promise<WrittenSoFar> {
  const rawLines = await rawLineCount(rawLogPath);
  let maxSeq = 0;
  if (existsSync(eventsPath)) {
    for (const line of readFileSync(eventsPath, "utf8").split("\n")) {
      const e = line ? decodeEvent(line) : undefined;
      if (e && e.seq > maxSeq) maxSeq = e.seq;
    }
  }
  return { rawLines, maxSeq };
}

const TAIL_LINES = 40;

/** Receives demuxed stdout/stderr chunks and writes complete lines to the try's files as they arrive. */
export class OutputDemuxer {
  private readonly prefix: Buffer | null;
  private readonly masks: string[];
  private skipRaw: number;
  private maxSeq: number;
  private readonly partial = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  private readonly fds = new Map<string, number>();
  /** Text waiting to be written, per file: one write per file per chunk, not one per line. */
  private readonly pending = new Map<string, string[]>();
  /** Last raw lines (masked), kept as failure evidence. */
  readonly tail: string[] = [];
  /** Last non-empty stdout raw line (masked): the XCom of a plain image. */
  lastStdoutLine: string | null = null;

  constructor(private readonly o: DemuxOptions, already: WrittenSoFar = { rawLines: 0, maxSeq: 0 }) {
    this.prefix = o.nonce ? Buffer.from(`${EVENT_PREFIX}${o.nonce}:`) : null;
    this.masks = (o.masks ?? []).filter((m) => m.length > 0).sort((a, b) => b.length - a.length);
    this.skipRaw = already.rawLines;
    this.maxSeq = already.maxSeq;
  }

  /** Highest event sequence number written so far. */
  get lastSeq(): number {
    return this.maxSeq;
  }

  /** Writable ends for the engine's demuxer. */
  streams(): { stdout: Writable; stderr: Writable } {
    const make = (which: "stdout" | "stderr") => new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        try {
          this.push(which, chunk);
          cb();
        } catch (err) {
          cb(err as Error);
        }
      },
    });
    return { stdout: make("stdout"), stderr: make("stderr") };
  }

  /** Feeds a chunk of one stream; its complete lines are in the files when this returns. */
  push(which: "stdout" | "stderr", chunk: Buffer): void {
    this.feed(which, chunk);
    this.writePending();
  }

  private feed(which: "stdout" | "stderr", chunk: Buffer): void {
    const parts = this.partial[which];
    const last = chunk.lastIndexOf(0x0a);
    if (last !== -1 && this.skipRaw === 0) {
      // The common case, a chunk of plain output: its complete lines are masked and written as one piece.
      const lines = parts.length ? Buffer.concat([...parts, chunk.subarray(0, last + 1)]) : chunk.subarray(0, last + 1);
      if (!this.prefix || which !== "stdout" || lines.indexOf(this.prefix) === -1) {
        this.rawLines(which, lines.toString("utf8"));
        parts.length = 0;
        if (last + 1 < chunk.length) parts.push(Buffer.from(chunk.subarray(last + 1)));
        return;
      }
    }
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, start)) {
      parts.push(chunk.subarray(start, i + 1));
      this.line(which, Buffer.concat(parts));
      parts.length = 0;
      start = i + 1;
    }
    if (start < chunk.length) parts.push(Buffer.from(chunk.subarray(start)));
  }

  /** Writes out unterminated last lines (the container ended without a newline). */
  flush(): void {
    for (const which of ["stdout", "stderr"] as const) {
      const parts = this.partial[which];
      if (parts.length === 0) continue;
      this.line(which, Buffer.concat([...parts, Buffer.from("\n")]));
      parts.length = 0;
    }
    this.writePending();
  }

  /** Appends an event the backend itself produced (container operator results). */
  writeEvent(json: string, seq: number): void {
    if (seq <= this.maxSeq) return;
    this.maxSeq = seq;
    if (this.o.eventSink) this.o.eventSink.push(json);
    else this.append(this.o.eventsPath, `${json}\n`);
    this.writePending();
  }

  /** Flushes partial lines and closes the files; the demuxer can be fed again afterwards (files reopen). */
  close(): void {
    this.flush();
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private append(file: string, text: string): void {
    const list = this.pending.get(file);
    if (list) list.push(text);
    else this.pending.set(file, [text]);
  }

  private writePending(): void {
    for (const [file, texts] of this.pending) {
      let fd = this.fds.get(file);
      if (fd === undefined) {
        fd = openSync(file, "a", 0o600);
        this.fds.set(file, fd);
      }
      const buf = Buffer.from(texts.join(""));
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
    }
    this.pending.clear();
  }

  private line(which: "stdout" | "stderr", line: Buffer): void {
    const at = which === "stdout" && this.prefix ? line.indexOf(this.prefix) : -1;
    if (this.prefix && at !== -1) {
      const json = line.subarray(at + this.prefix.length).toString("utf8").trimEnd();
      const event = decodeEvent(json);
      if (event) {
        // An event written while the task's own output was mid-line: the text before it is still log.
        if (at > 0) this.raw(which, Buffer.concat([line.subarray(0, at), Buffer.from("\n")]));
        this.writeEvent(json, event.seq);
        return;
      }
    }
    this.raw(which, line);
  }

  /** Complete raw lines (ending in a newline) with nothing to skip. */
  private rawLines(which: "stdout" | "stderr", text: string): void {
    for (const m of this.masks) if (text.includes(m)) text = text.split(m).join("***");
    this.append(this.o.rawLogPath, text);
    const lines = text.split("\n");
    lines.pop();
    for (const bare of lines.slice(-TAIL_LINES).map((l) => l.trimEnd())) {
      this.tail.push(bare);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
    if (which === "stdout") {
      for (let i = lines.length - 1; i >= 0; i--) {
        const bare = (lines[i] as string).trimEnd();
        if (bare.trim() !== "") {
          this.lastStdoutLine = bare;
          break;
        }
      }
    }
  }

  private raw(which: "stdout" | "stderr", line: Buffer): void {
    let text = line.toString("utf8");
    for (const m of this.masks) text = text.split(m).join("***");
    const bare = text.trimEnd();
    this.tail.push(bare);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (which === "stdout" && bare.trim() !== "") this.lastStdoutLine = bare;
    if (this.skipRaw > 0) {
      this.skipRaw--;
      return;
    }
    this.append(this.o.rawLogPath, text);
  }
}
