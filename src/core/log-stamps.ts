/**
 * `tasks logs --timestamps`: each line of a log prefixed with the time it was written, from the chunks' time marks
 * (`<log>.times`, or the store's shipped copy). A line's time is that of the mark in force at its first byte; a
 * line written before times were recorded gets a dash. Chunks may split a line: the prefix goes only before a line's
 * first piece.
 */

/** A time mark as the core (`at` ISO string) or the API hands it out. */
export interface StampMark {
  offset: number;
  at: string;
}

/** Width of an ISO 8601 UTC time with milliseconds ("2026-12-03T06:01:02.345Z"). */
const WIDTH = 24;

/** Turns a log's chunks, in order, into text whose lines start with their time. */
export class LineStamper {
  private marks: StampMark[] = [];
  private atLineStart = true;

  /** Prefixes the lines of one chunk; `offset` is the chunk's first byte in the log. */
  push(chunk: { text: string; offset: number; times?: StampMark[] }): string {
    this.addMarks(chunk.times ?? []);
    let out = "";
    let at = chunk.offset;
    let i = 0;
    while (i < chunk.text.length) {
      const nl = chunk.text.indexOf("\n", i);
      const end = nl < 0 ? chunk.text.length : nl + 1;
      const piece = chunk.text.slice(i, end);
      if (this.atLineStart) out += `${(this.timeAt(at) ?? "-").padEnd(WIDTH)}  `;
      out += piece;
      this.atLineStart = nl >= 0;
      at += Buffer.byteLength(piece, "utf8");
      i = end;
    }
    return out;
  }

  /** The time of the byte at `offset`: the last mark at or before it. */
  private timeAt(offset: number): string | null {
    let found: string | null = null;
    for (let lo = 0, hi = this.marks.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >> 1;
      const m = this.marks[mid] as StampMark;
      if (m.offset <= offset) {
        found = m.at;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Keeps marks sorted by offset; a chunk repeats the mark in force at its start. */
  private addMarks(fresh: StampMark[]): void {
    for (const m of fresh) {
      const last = this.marks[this.marks.length - 1];
      if (!last || m.offset > last.offset) this.marks.push(m);
    }
  }
}

/** A finished log as lines with their times, for `--json --timestamps`. */
export function stampedLines(text: string, marks: StampMark[]): Array<{ at: string | null; text: string }> {
  const stamper = new LineStamper();
  stamper.push({ text: "", offset: 0, times: marks });
  const out: Array<{ at: string | null; text: string }> = [];
  let offset = 0;
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (const line of lines) {
    const stamped = stamper.push({ text: `${line}\n`, offset });
    const at = stamped.slice(0, WIDTH).trim();
    out.push({ at: at === "-" ? null : at, text: line });
    offset += Buffer.byteLength(line, "utf8") + 1;
  }
  return out;
}
