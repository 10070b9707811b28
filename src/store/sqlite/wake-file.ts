/**
 * Cross-process wake-ups for the SQLite store. A process that commits change-feed rows touches a wake file beside
 * the database (`<db>-wake`); every process watching that file (inotify through fs.watch) reads the feed at once.
 *
 * Why a touched file rather than a socket or a FIFO: any number of processes can watch it and any number can touch
 * it, none needs to know the others, a stale file after a crash is harmless, and a reader that was not running
 * loses nothing (the change feed itself is the record; the file only says "look now"). A FIFO wakes one reader;
 * a socket needs one listener per process and breaks on long state-dir paths (108-byte limit).
 */
import { closeSync, openSync, utimesSync, watch, type FSWatcher } from "node:fs";

/** The wake file of the database at `dbFile`. */
export function wakeFileOf(dbFile: string): string {
  return `${dbFile}-wake`;
}

function ensureFile(file: string): void {
  closeSync(openSync(file, "a"));
}

/** Signals every watcher of `file` (best effort: the change feed is the record, the sweep a safety net). */
export function touchWakeFile(file: string): void {
  try {
    const t = new Date();
    utimesSync(file, t, t);
  } catch {
    try {
      ensureFile(file);
    } catch {
      // A read-only state dir: watchers fall back to their periodic sweep.
    }
  }
}

/** Calls `onSignal` whenever `file` is touched; resolves to a function that stops watching. */
export function watchWakeFile(file: string, onSignal: () => void): () => void {
  let watcher: FSWatcher | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const open = () => {
    if (closed) return;
    try {
      ensureFile(file);
      watcher = watch(file, { persistent: false }, (event) => {
        onSignal();
        // Replaced or removed (e.g. the state dir was cleaned): watch the new file.
        if (event === "rename") reopen();
      });
      watcher.on("error", reopen);
    } catch {
      retry = setTimeout(open, 1000);
      retry.unref();
    }
  };
  const reopen = () => {
    watcher?.close();
    watcher = null;
    if (closed) return;
    retry = setTimeout(() => {
      open();
      onSignal();
    }, 50);
    retry.unref();
  };
  open();
  return () => {
    closed = true;
    clearTimeout(retry);
    watcher?.close();
  };
}
