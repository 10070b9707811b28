/** Byte-level UTF-8 helpers for cutting output into pieces without splitting a character. */

/** The largest index <= `end` that does not split a UTF-8 sequence of `buf`. */
export function charBoundary(buf: Buffer, end: number): number {
  const limit = Math.min(end, buf.length);
  let i = limit;
  // Step back over continuation bytes (10xxxxxx) to the byte that starts their sequence.
  let back = 0;
  while (i > 0 && back < 4 && ((buf[i - 1] ?? 0) & 0xc0) === 0x80) {
    i--;
    back++;
  }
  const lead = i > 0 ? (buf[i - 1] ?? 0) : 0;
  if (i === 0 || (lead & 0xc0) !== 0xc0) return limit;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  // Keep a complete sequence; cut before an incomplete one.
  return back + 1 >= length ? limit : i - 1;
}

/** C0 controls except tab and newline, DEL, C1 controls, and the bidi overrides that reorder what a terminal shows. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Text safe for a terminal: control characters become visible `\xHH` / `\uHHHH` escapes. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
