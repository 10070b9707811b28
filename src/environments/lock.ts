/**
 * A lock file shared by processes (and hosts, on a shared state directory): created with O_EXCL, touched while
 * held, and taken over when its holder died (same host, pid gone) or stopped touching it.
 * Builds stay correct without it (they are renamed into place atomically); it makes concurrent builds of one
 * key happen once instead of twice.
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { EnvironmentBuildError } from "./errors.js";

/** A lock whose holder has not touched it for this long is considered abandoned. */
const STALE_MS = 30_000;
const TOUCH_MS = 5_000;

/** Options of `withFileLock`. */
export interface FileLockOptions {
  /** Give up after waiting this long. @default 30 minutes (an install can be slow) */
  timeoutMs?: number;
  /** Called once when the lock is busy, with the holder's description. */
  onWait?: (holder: string) => void;
  /** What is being locked, for messages. */
  what: string;
}

/** Runs `fn` holding the lock file `file`. */
export async function withFileLock<T>(file: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const release = await acquire(file, options);
  try {
    return await fn();
  } finally {
    release();
  }
}

async function acquire(file: string, options: FileLockOptions): Promise<() => void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const token = JSON.stringify({ pid: process.pid, host: os.hostname(), id: randomUUID() });
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let waited = false;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      try {
        writeSync(fd, token);
      } finally {
        closeSync(fd);
      }
      const timer = setInterval(() => touch(file), TOUCH_MS);
      timer.unref();
      return () => {
        clearInterval(timer);
        if (readOrEmpty(file) === token) unlinkQuietly(file);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = readOrEmpty(file);
    if (isStale(file, holder)) {
      unlinkQuietly(file);
      continue;
    }
    if (!waited) {
      waited = true;
      options.onWait?.(describe(holder));
    }
    if (Date.now() > deadline) {
      throw new EnvironmentBuildError("lock_timeout", `timed out waiting for ${options.what} (held by ${describe(holder)})`,
        `if no build is running, delete ${file}`);
    }
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 150));
  }
}

function isStale(file: string, holder: string): boolean {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return false; // released meanwhile: the next open will tell
  }
  if (Date.now() - mtimeMs > STALE_MS) return true;
  try {
    const { pid, host } = JSON.parse(holder) as { pid: number; host: string };
    if (host !== os.hostname()) return false;
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // ESRCH: the holder is gone. An unparsable file is one being written right now: not stale yet.
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function describe(holder: string): string {
  try {
    const { pid, host } = JSON.parse(holder) as { pid: number; host: string };
    return `process ${pid} on ${host}`;
  } catch {
    return "another process";
  }
}

function touch(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // Lost the file (taken over after a long stall): the build's atomic rename keeps things consistent.
  }
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
