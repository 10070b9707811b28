/**
 * A try's raw output file and how far the log pump has consumed it. Consumed bytes are given back to the file
 * system (hole punching) while the try runs, so its output is not kept twice (raw and masked); the progress file
 * lets an orchestrator that restarts continue where the last one stopped instead of re-reading holes.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { open, rename, writeFile } from "node:fs/promises";
import path from "node:path";

/** How far the raw output has been consumed. */
export interface PumpProgress {
  /** Raw bytes consumed (written to the log, or dropped past the size cap). */
  offset: number;
  /** Line breaks in those bytes (the docker backend counts raw lines when it re-attaches). */
  lines: number;
  /** Bytes in the final log file at that point. */
  written: number;
  /** The log reached its size cap: the rest of the output is dropped (and the raw file emptied as it grows). */
  truncated: boolean;
  /** Raw bytes already punched out of the file. */
  punched: number;
}

/** The progress file beside a raw output file. */
export function progressPath(rawPath: string): string {
  return path.join(path.dirname(rawPath), "log-pump.json");
}

/** The saved progress, or null when there is none (or it is unreadable: then the pump starts over). */
export function readProgress(rawPath: string): PumpProgress | null {
  try {
    const p = JSON.parse(readFileSync(progressPath(rawPath), "utf8")) as PumpProgress;
    return Number.isSafeInteger(p.offset) && Number.isSafeInteger(p.written) ? p : null;
  } catch {
    return null;
  }
}

/** Saves progress atomically (a torn file would make a restarted pump read punched holes as output). */
export async function saveProgress(rawPath: string, p: PumpProgress): Promise<void> {
  const file = progressPath(rawPath);
  await writeFile(`${file}.tmp`, JSON.stringify(p), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/** Line breaks in a buffer. */
export function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** Complete lines in the raw output: those consumed (from the progress file) plus those still in the file. */
export async function rawLineCount(rawPath: string): Promise<number> {
  const progress = readProgress(rawPath);
  let handle;
  try {
    handle = await open(rawPath, "r");
  } catch {
    return progress?.lines ?? 0;
  }
  try {
    let lines = progress?.lines ?? 0;
    const buf = Buffer.alloc(1 << 20);
    for (let at = progress?.offset ?? 0; ;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, at);
      if (bytesRead <= 0) return lines;
      lines += countLines(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Frees the disk blocks of bytes [from, to) of a file that a task may still be appending to; its size and later
 * offsets stay as they are. False when the file system (or the platform) cannot, which only costs disk space.
 */
export function punchHole(file: string, from: number, to: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile("fallocate", ["--punch-hole", "--offset", String(from), "--length", String(to - from), file], (err) => resolve(!err));
  });
}
