/**
 * When a try's log lines were written: a small file beside the log (`<log>.times`) of "byteOffset epochMs" lines,
 * one for each write of the log pump (at most one per MARK_EVERY_MS). The log itself stays plain text, so every
 * reader of it is unchanged; the API adds the times to the chunks it serves and the UI shows one per line.
 */
import { open, readFile, writeFile, type FileHandle } from "node:fs/promises";

/** Writes closer together than this share the earlier mark. */
const MARK_EVERY_MS = 100;

/** A point in the log from which on lines were written at `at`. */
export interface LogTimeMark {
  offset: number;
  /** ISO 8601. */
  at: string;
}

/** The time index beside a log file. */
export function timesPath(logPath: string): string {
  return `${logPath}.times`;
}

/** Appends marks to a log's time index; its writes must be awaited before the log bytes they describe are written. */
export class LogTimesWriter {
  private handle: FileHandle | null = null;
  private last = -Infinity;

  constructor(private readonly file: string) {}

  /**
   * Opens the index: "continue" appends (a rescheduled sensor's next poke), "reset" starts it over (the log is
   * rewritten from the start), a number keeps only the marks before that byte (the log was cut back there).
   */
  async open(mode: "continue" | "reset" | number): Promise<void> {
    if (typeof mode === "number") {
      const kept = (await readMarks(this.file)).filter((m) => m.offset < mode).map((m) => `${m.offset} ${m.ms}\n`).join("");
      await writeFile(this.file, kept, { mode: 0o600 });
    } else if (mode === "reset") await writeFile(this.file, "", { mode: 0o600 });
    this.handle = await open(this.file, "a", 0o600);
  }

  /** Records that the bytes written from `offset` on are written now. */
  async mark(offset: number, now = Date.now()): Promise<void> {
    if (!this.handle || now - this.last < MARK_EVERY_MS) return;
    this.last = now;
    await this.handle.write(`${offset} ${now}\n`);
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = null;
  }
}

async function readMarks(file: string): Promise<Array<{ offset: number; ms: number }>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return [];
  }
  const out: Array<{ offset: number; ms: number }> = [];
  for (const line of text.split("\n")) {
    const [o, t] = line.split(" ");
    const offset = Number(o);
    const ms = Number(t);
    // A torn last line (a crash mid-write) is skipped.
    if (line && Number.isSafeInteger(offset) && Number.isSafeInteger(ms) && offset >= 0) out.push({ offset, ms });
  }
  return out;
}

/** The marks that date the bytes [from, to) of a log: the one in force at `from`, then those inside. */
export async function readLogTimes(logPath: string, from: number, to: number): Promise<LogTimeMark[]> {
  const marks = await readMarks(timesPath(logPath));
  let start = -1;
  const inside: LogTimeMark[] = [];
  for (let i = 0; i < marks.length; i++) {
    const m = marks[i] as { offset: number; ms: number };
    if (m.offset <= from) start = i;
    else if (m.offset < to) inside.push({ offset: m.offset, at: new Date(m.ms).toISOString() });
  }
  const first = marks[start];
  return first ? [{ offset: first.offset, at: new Date(first.ms).toISOString() }, ...inside] : inside;
}
