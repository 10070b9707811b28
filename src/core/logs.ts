/** Reading a try's log by byte offset (for the CLI, the API and live follow). Logs on disk are already masked. */
import { open } from "node:fs/promises";
import path from "node:path";
import type { AirlockContext } from "./context.js";
import { NotFoundError, ValidationError } from "./errors.js";
import { readLogTimes, type LogTimeMark } from "./log-times.js";
import { charBoundary } from "./utf8.js";

/** A slice of a log. */
export interface LogChunk {
  text: string;
  offset: number;
  nextOffset: number;
  /** The try has ended and everything was read. */
  complete: boolean;
  /**
   * When the lines were written: each mark dates the bytes from its offset up to the next mark (the first one may
   * lie before `offset`). Empty when unknown (logs written before times were recorded).
   */
  times: LogTimeMark[];
}

/** Reads up to `maxBytes` of a try's log from `offset`, ending on a line boundary when possible. */
export async function readLogChunk(ctx: AirlockContext, ref: { runId: string; taskId: string; mapIndex?: number; tryNumber: number }, offset: number, maxBytes: number): Promise<LogChunk> {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new ValidationError("offset", `${offset} is not a byte offset`, "Use an integer >= 0");
  const limit = Math.max(1, Math.min(Number.isFinite(maxBytes) ? Math.floor(maxBytes) : 1 << 20, 8 << 20));
  const t = await ctx.store.getTry(ref);
  if (!t) {
    throw new NotFoundError("Try", `${ref.runId}/${ref.taskId}${(ref.mapIndex ?? -1) >= 0 ? `[${ref.mapIndex}]` : ""}/${ref.tryNumber}`, "List tries with `airlock tasks states <dag> <run>`; try numbers start at 1");
  }
  const ended = t.state !== "running";
  // A try of another installation (another host, or another state directory here) is read from the store's
  // shipped copy; this installation's own tries from the local file, which is always the most recent.
  if (!isLocal(ctx, t.logPath)) return readShipped(ctx, ref, offset, limit, ended);
  let handle;
  try {
    handle = await open(t.logPath, "r");
  } catch {
    // The local file is gone (state dir cleaned, or the try ran elsewhere under the same path): use the store.
    return readShipped(ctx, ref, offset, limit, ended);
  }
  try {
    const { size } = await handle.stat();
    if (offset >= size) return { text: "", offset, nextOffset: size, complete: ended, times: [] };
    const length = Math.min(limit, size - offset);
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    let end = bytesRead;
    if (offset + bytesRead < size) {
      const nl = buf.lastIndexOf(0x0a, bytesRead - 1);
      // A line longer than the chunk is cut between characters, never inside one.
      end = nl >= 0 ? nl + 1 : charBoundary(buf, bytesRead) || bytesRead;
    } else if (!ended) {
      // Do not hand out a half-written last line of a running try.
      const nl = buf.lastIndexOf(0x0a, bytesRead - 1);
      end = nl >= 0 ? nl + 1 : 0;
    }
    const times = end > 0 ? await readLogTimes(t.logPath, offset, offset + end) : [];
    return { text: buf.subarray(0, end).toString("utf8"), offset, nextOffset: offset + end, complete: ended && offset + end >= size, times };
  } finally {
    await handle.close();
  }
}

function isLocal(ctx: AirlockContext, logPath: string): boolean {
  const rel = path.relative(path.resolve(ctx.config.stateDir), path.resolve(logPath));
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

async function readShipped(ctx: AirlockContext, ref: { runId: string; taskId: string; mapIndex?: number; tryNumber: number }, offset: number, limit: number, ended: boolean): Promise<LogChunk> {
  const slice = await ctx.store.readLogChunks(ref, offset, limit);
  // A running try's last shipped piece always ends a line (the pump ships whole lines), so nothing half-written shows.
  const times = slice.times.map((m) => ({ offset: m.offset, at: new Date(m.ms).toISOString() }));
  return { text: slice.text, offset, nextOffset: slice.nextOffset, complete: ended && slice.nextOffset >= slice.size, times };
}
