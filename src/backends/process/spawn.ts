/**
 * Launching a try as a detached process group whose output goes straight to files, so it survives (and can be
 * adopted after) an orchestrator crash. Shared by the process and sandbox backends.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { BackendName } from "../../sdk/types.js";
import type { ExitInfo, LaunchRequest, RunningTry, TryHandle } from "../types.js";
import { isSameProcess, killMarked, killTree, processStartTime, TRY_MARKER_VARIABLE } from "./proc.js";

/** Options of `spawnTry`. */
export interface SpawnOptions {
  env: Record<string, string>;
  cwd: string;
  request: LaunchRequest;
  backend: BackendName;
  /** Extra identity stored in the handle (e.g. a cgroup path). */
  extraHandle?: Record<string, unknown>;
  /** Called once the process has ended (e.g. to read a cgroup's OOM counter); may add detail. */
  onExit?: (info: ExitInfo) => ExitInfo | Promise<ExitInfo>;
  /** Called from kill() before the tree is killed (e.g. to kill a whole cgroup). */
  onKill?: () => void | Promise<void>;
  /** Runs in the child between fork and exec is not possible in Node; instead, called with the pid right after spawn. */
  onSpawn?: (pid: number) => void | Promise<void>;
  /**
   * Mark every process of the try with a random environment entry, so kills also find processes that left the
   * process tree and group (setsid plus a double fork). For backends without a cgroup to kill.
   */
  mark?: boolean;
  /** Open file descriptors handed to the child as fds 4, 5, … (closed here once it started). */
  extraFds?: number[];
}

/** The process identity stored for adoption. */
export interface ProcessHandle extends TryHandle {
  pid: number;
  pgid: number;
  startTime: number;
  /** The try's process marker, when it was started with one. */
  marker?: string;
}

/** Spawns `command args` for a try: payload on stdin, fds 1+2 → raw log, fd 3 → events file. */
export async function spawnTry(command: string, args: string[], o: SpawnOptions): Promise<RunningTry> {
  const r = o.request;
  mkdirSync(r.tryDir, { recursive: true, mode: 0o700 });
  mkdirSync(r.scratchDir, { recursive: true });
  const logFd = openSync(r.rawLogPath, "a", 0o600);
  const eventsFd = openSync(r.eventsPath, "a", 0o600);
  const marker = o.mark ? randomBytes(12).toString("hex") : undefined;
  const env = marker ? { ...o.env, [TRY_MARKER_VARIABLE]: marker } : o.env;
  let child;
  try {
    child = spawn(command, args, { cwd: o.cwd, env, detached: true, stdio: ["pipe", logFd, logFd, eventsFd, ...(o.extraFds ?? [])] });
  } finally {
    closeSync(logFd);
    closeSync(eventsFd);
    for (const fd of o.extraFds ?? []) closeSync(fd);
  }
  const pid = await spawnedPid(child, command);
  const exitedRaw = exitOf(child);
  const handle: ProcessHandle = { backend: o.backend, pid, pgid: pid, startTime: processStartTime(pid) ?? 0, ...(marker ? { marker } : {}), ...o.extraHandle };
  // Written in the same tick as the spawn, so a crash before the store records the handle cannot orphan the try.
  writeFileSync(path.join(r.tryDir, HANDLE_FILE), JSON.stringify(handle), { mode: 0o600 });
  await o.onSpawn?.(pid);
  // The payload (with any granted secrets) goes only through this pipe.
  child.stdin?.on("error", () => undefined);
  child.stdin?.end(JSON.stringify(r.payload));
  return trackedTry(handle, exitedRaw, o);
}

/** The pid of a just spawned child, or the reason it could not start. */
export async function spawnedPid(child: ChildProcess, command: string): Promise<number> {
  if (child.pid !== undefined) return child.pid;
  const err = await new Promise<Error>((resolve) => child.once("error", resolve));
  throw new Error(`could not start ${command}: ${err.message}`, { cause: err });
}

/** How a child ends, as the backends report it. */
export function exitOf(child: ChildProcess): Promise<ExitInfo> {
  return new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (err) => resolve({ code: null, signal: null, detail: err.message }));
  });
}

/** The running try of a started process: whatever it leaves behind ends with it, and kill() ends it all. */
export function trackedTry(handle: ProcessHandle, exitedRaw: Promise<ExitInfo>, o: Pick<SpawnOptions, "onExit" | "onKill">): RunningTry {
  let killed: string | null = null;
  const exited = exitedRaw.then(async (info) => {
    // Whatever the task left behind (background jobs, daemons) ends with it.
    killTree(handle.pid, handle.pgid, handle.marker, handle.startTime);
    const withReason = killed ? { ...info, detail: info.detail ?? killed } : info;
    return o.onExit ? o.onExit(withReason) : withReason;
  });
  return {
    handle,
    exited,
    async kill(reason: string) {
      killed ??= reason;
      await o.onKill?.();
      killTree(handle.pid, handle.pgid, handle.marker, handle.startTime);
    },
  };
}

/** File in the try directory holding the process handle. */
export const HANDLE_FILE = "handle.json";

/** The handle stored with the try, or else the one written next to its output at spawn time. */
export function completeHandle(handle: TryHandle & { tryDir?: unknown }): TryHandle {
  if (typeof (handle as Partial<ProcessHandle>).pid === "number" || typeof handle.tryDir !== "string") return handle;
  try {
    return { ...(JSON.parse(readFileSync(path.join(handle.tryDir, HANDLE_FILE), "utf8")) as TryHandle), ...handle };
  } catch {
    return handle;
  }
}

/** Re-attaches to a process started by an earlier orchestrator; null if it is no longer running. */
export function adoptProcess(handle: TryHandle, o: { onExit?: SpawnOptions["onExit"]; onKill?: SpawnOptions["onKill"]; pollMs?: number } = {}): RunningTry | null {
  const h = completeHandle(handle) as ProcessHandle;
  if (typeof h.pid !== "number" || typeof h.startTime !== "number" || !isSameProcess(h.pid, h.startTime)) {
    // The try ended while no orchestrator watched it: what it left behind goes too. Its pid and group may belong
    // to someone else by now, so only the marker is trusted.
    if (typeof h.marker === "string") killMarked(h.marker, typeof h.startTime === "number" && h.startTime > 0 ? h.startTime : undefined);
    return null;
  }
  let killed: string | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    const timer = setInterval(() => {
      if (isSameProcess(h.pid, h.startTime)) return;
      clearInterval(timer);
      killTree(h.pid, h.pgid, h.marker, h.startTime);
      resolve({ code: null, signal: null, detail: killed ?? "adopted after a restart: exit code unknown" });
    }, o.pollMs ?? 100);
  }).then((info) => (o.onExit ? o.onExit(info) : info));
  return {
    handle: h,
    exited,
    async kill(reason: string) {
      killed ??= reason;
      await o.onKill?.();
      killTree(h.pid, h.pgid, h.marker, h.startTime);
    },
  };
}
