/**
 * Shipped logs: a try's masked log, in chunks addressed by byte offset, so that any host can show and follow it
 * and it outlives the worker that wrote it.
 */
import type { Db } from "../kysely-store.js";
import type { Migration } from "../migrations.js";
import type { TryKeyRef } from "../store.js";

/** Migration 110: when each part of a shipped piece was written (ids 110-119). */
export const LOG_TIMES_MIGRATIONS: Migration[] = [
  {
    id: 110,
    name: "log chunk times",
    breaking: false,
    // JSON [[byteOffset, epochMs], …] with absolute offsets; the first at the piece's own offset. Null: not recorded.
    sql: () => ["alter table log_chunks add column times text"],
  },
];

/** From this byte of a log on, lines were written at epoch milliseconds `ms`. */
export interface ShippedTimeMark {
  offset: number;
  ms: number;
}

/** A slice of a shipped log. */
export interface ShippedLogSlice {
  text: string;
  nextOffset: number;
  /** Bytes shipped so far. */
  size: number;
  /** When the slice's lines were written: the mark in force at its start, then those inside it (empty: unknown). */
  times: ShippedTimeMark[];
}

/** Stores `text` at `offset` with its time marks; a chunk already stored at that offset (a retried write) is replaced. */
export async function appendLogChunk(db: Db, key: TryKeyRef, offset: number, text: string, times: ShippedTimeMark[] = []): Promise<void> {
  await db.deleteFrom("log_chunks").where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).where("try_number", "=", key.tryNumber)
    .where("byte_offset", ">=", offset).execute();
  await db.insertInto("log_chunks").values({
    run_id: key.runId, task_id: key.taskId, map_index: key.mapIndex ?? -1, try_number: key.tryNumber, byte_offset: offset, byte_length: Buffer.byteLength(text), text,
    times: times.length > 0 ? JSON.stringify(times.map((m) => [m.offset, m.ms])) : null,
  }).execute();
}

/** Drops a try's shipped log (its log is being rebuilt from the start after an adoption). */
export async function resetLogChunks(db: Db, key: TryKeyRef): Promise<void> {
  await db.deleteFrom("log_chunks").where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).where("try_number", "=", key.tryNumber).execute();
}

/** Reads up to about `maxBytes` from `offset`, ending on a line boundary unless a single line is longer. */
export async function readLogChunks(db: Db, key: TryKeyRef, offset: number, maxBytes: number): Promise<ShippedLogSlice> {
  const ofTry = db.selectFrom("log_chunks").where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).where("try_number", "=", key.tryNumber);
  const last = await ofTry.select(["byte_offset", "byte_length"]).orderBy("byte_offset", "desc").limit(1).executeTakeFirst();
  const size = last ? Number(last.byte_offset) + Number(last.byte_length) : 0;
  if (offset >= size) return { text: "", nextOffset: Math.min(offset, size), size, times: [] };
  const rows = await ofTry.select(["byte_offset", "text", "times"])
    .where((eb) => eb(eb("byte_offset", "+", eb.ref("byte_length")), ">", offset))
    .orderBy("byte_offset").limit(256).execute();
  const parts: Buffer[] = [];
  const marks: ShippedTimeMark[] = [];
  let total = 0;
  for (const r of rows) {
    marks.push(...parseTimes(r.times));
    const buf = Buffer.from(r.text, "utf8");
    const skip = Math.max(0, offset - Number(r.byte_offset));
    parts.push(buf.subarray(skip));
    total += buf.length - skip;
    if (total >= maxBytes) break;
  }
  let buf = Buffer.concat(parts).subarray(0, maxBytes);
  if (offset + buf.length < size) {
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) buf = buf.subarray(0, nl + 1);
  }
  const end = offset + buf.length;
  const start = marks.findLastIndex((m) => m.offset <= offset);
  const times = marks.filter((m, i) => (i === start || m.offset > offset) && m.offset < end);
  return { text: buf.toString("utf8"), nextOffset: end, size, times };
}

function parseTimes(json: string | null): ShippedTimeMark[] {
  if (!json) return [];
  try {
    const list = JSON.parse(json) as unknown;
    return Array.isArray(list)
      ? list.flatMap((m: unknown) => (Array.isArray(m) && Number.isSafeInteger(m[0]) && Number.isSafeInteger(m[1]) ? [{ offset: m[0] as number, ms: m[1] as number }] : []))
      : [];
  } catch {
    return [];
  }
}
