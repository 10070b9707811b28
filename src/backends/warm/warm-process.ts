/**
 * A warm process: a try's runner started (process, runtime, environment, sandbox, cgroup) before any try is claimed,
 * waiting for its payload on stdin. It serves exactly one try: the hand-over moves its output files and scratch
 * folder into the try's folder and writes the payload; the runner ends with the try, like a cold one.
 *
 * It holds nothing of a try until the hand-over: no payload, no secret, no try path. Its stdin is a pipe from this
 * orchestrator only, so when the orchestrator ends (stop, crash, kill -9) the runner reads end-of-file and exits.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BackendName } from "../../sdk/types.js";
import type { TaskPayload } from "../../runner/protocol.js";
import type { ExitInfo, LaunchRequest, RunningTry } from "../types.js";
import { killTree, processStartTime, TRY_MARKER_VARIABLE } from "../process/proc.js";
import { exitOf, HANDLE_FILE, trackedTry, type ProcessHandle, type SpawnOptions } from "../process/spawn.js";

/** Raised when a warm process cannot take a try (the backend then launches it cold). */
export class WarmHandOverError extends Error {
  override name = "WarmHandOverError";
}

/** What a warm process runs and where its files are. */
export interface WarmSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  backend: BackendName;
  /** The process's own folder: scratch/, output.log, events.ndjson (and what the backend adds). */
  dir: string;
  /** Mark its processes with a random variable (backends without a cgroup to kill). */
  mark?: boolean;
  extraHandle?: Record<string, unknown>;
  /** Called once the process has ended; `request` is its try's, or null when it ended unused. */
  onExit?: (info: ExitInfo, request: LaunchRequest | null) => ExitInfo | Promise<ExitInfo>;
  onKill?: SpawnOptions["onKill"];
  /** The hand-over waits until the runner says it is up (a sandbox binds the scratch folder only as it starts). */
  waitReady?: boolean;
  /** An open descriptor handed to the child as fd 4 (closed here once it started), e.g. a sandbox's seccomp filter. */
  extraFd?: number;
}

/** The runner's descriptor for "I am up" (the runners write one byte and close it; see runner/main.ts). */
const READY_FD = 5;

/** How long a hand-over waits for a starting runner before the try launches cold. */
const READY_TIMEOUT_MS = 10_000;

/** The scratch folder of a warm process, which becomes its try's scratch folder at the hand-over. */
export function warmScratch(dir: string): string {
  return path.join(dir, "scratch");
}

/** One started runner waiting for one try. */
export class WarmProcess {
  readonly pid: number;
  readonly startedAt = Date.now();
  private readonly child: ChildProcess;
  private readonly exitedRaw: Promise<ExitInfo>;
  private readonly handle: ProcessHandle;
  private state: "waiting" | "taken" | "disposed" = "waiting";
  private ended = false;

  /** Resolves true once the runner is up, false if it ended first. */
  readonly ready: Promise<boolean>;
  private isReady = false;

  private constructor(readonly spec: WarmSpec, child: ChildProcess, pid: number, marker: string | undefined) {
    this.child = child;
    this.pid = pid;
    this.exitedRaw = exitOf(child).then((info) => {
      this.ended = true;
      return info;
    });
    const signal = (child.stdio as unknown as Array<NodeJS.ReadableStream | null | undefined>)[READY_FD];
    this.ready = new Promise<boolean>((resolve) => {
      signal?.once("data", () => resolve(true));
      signal?.once("error", () => resolve(false));
      signal?.once("end", () => resolve(false));
      void this.exitedRaw.then(() => resolve(false));
    }).then((up) => (this.isReady = up));
    this.handle = { backend: spec.backend, pid, pgid: pid, startTime: processStartTime(pid) ?? 0, ...(marker ? { marker } : {}), warm: true, ...spec.extraHandle };
  }

  /** The runner said it is up. */
  get up(): boolean {
    return this.isReady;
  }

  /** Starts the runner of `spec`; its output goes to files in its folder until a try takes it. */
  static start(spec: WarmSpec): WarmProcess {
    mkdirSync(warmScratch(spec.dir), { recursive: true });
    const logFd = openSync(path.join(spec.dir, "output.log"), "a", 0o600);
    const eventsFd = openSync(path.join(spec.dir, "events.ndjson"), "a", 0o600);
    const marker = spec.mark ? randomBytes(12).toString("hex") : undefined;
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd, env: marker ? { ...spec.env, [TRY_MARKER_VARIABLE]: marker } : spec.env, detached: true,
        stdio: ["pipe", logFd, logFd, eventsFd, spec.extraFd ?? "ignore", "pipe"],
      });
    } finally {
      closeSync(logFd);
      closeSync(eventsFd);
      if (spec.extraFd !== undefined) closeSync(spec.extraFd);
    }
    if (child.pid === undefined) {
      child.once("error", () => undefined);
      rmSync(spec.dir, { recursive: true, force: true });
      throw new WarmHandOverError(`could not start ${spec.command}`);
    }
    child.stdin?.on("error", () => undefined);
    return new WarmProcess(spec, child, child.pid, marker);
  }

  /** Still waiting for a try (not taken, not ended). */
  get waiting(): boolean {
    return this.state === "waiting" && !this.ended;
  }

  /**
   * Gives the process its try: its output files and scratch folder move to the try's paths (same file system: a
   * rename, so the open descriptors follow), the handle is written for adoption, then the payload goes down the pipe.
   */
  async handOver(request: LaunchRequest, payload: TaskPayload): Promise<RunningTry> {
    if (this.spec.waitReady && !this.isReady) {
      let timer: NodeJS.Timeout | undefined;
      const up = await Promise.race([this.ready, new Promise<false>((r) => (timer = setTimeout(() => r(false), READY_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (!up) {
        void this.dispose();
        throw new WarmHandOverError("the warm runner did not come up");
      }
    }
    if (!this.waiting) throw new WarmHandOverError("the warm process is no longer waiting");
    const { dir } = this.spec;
    if (nonEmpty(request.rawLogPath) || nonEmpty(request.eventsPath)) throw new WarmHandOverError("the try already has output files");
    try {
      // Off the event loop: the try's folder is new (several levels), and the log pump makes it at the same time.
      await mkdir(request.tryDir, { recursive: true, mode: 0o700 });
      moveFile(path.join(dir, "output.log"), request.rawLogPath);
      moveFile(path.join(dir, "events.ndjson"), request.eventsPath);
      moveScratch(warmScratch(dir), request.scratchDir);
      // What is left (a sandbox's mounted folders) moves into the try's folder too: it is the try's now, and a later
      // orchestrator's sweep of this pool's folders must not touch it.
      rmSync(path.join(dir, "cgroup.json"), { force: true });
      renameSync(dir, path.join(request.tryDir, "warm"));
      // Written before the payload, so a crash from here on leaves a handle to adopt.
      await writeFile(path.join(request.tryDir, HANDLE_FILE), JSON.stringify(this.handle), { mode: 0o600 });
    } catch (err) {
      // Half moved: this process serves nobody now.
      void this.dispose();
      throw err instanceof WarmHandOverError ? err : new WarmHandOverError((err as Error).message, { cause: err });
    }
    this.state = "taken";
    // The payload (with any granted secrets) goes only through this pipe, and only now.
    this.child.stdin?.end(JSON.stringify(payload));
    const onExit = this.spec.onExit;
    return trackedTry(this.handle, this.exitedRaw, {
      onKill: this.spec.onKill,
      onExit: async (info) => {
        // In the background: the try's end must not wait for the file system (the supervisor removes the folder too).
        void rm(path.join(request.tryDir, "warm"), { recursive: true, force: true }).catch(() => undefined);
        return onExit ? onExit(info, request) : info;
      },
    });
  }

  /** Ends an unused warm process and removes what it holds (its folder, and through onKill/onExit its cgroup). */
  async dispose(): Promise<void> {
    if (this.state !== "waiting") return;
    this.state = "disposed";
    await this.spec.onKill?.();
    killTree(this.handle.pid, this.handle.pgid, this.handle.marker, this.handle.startTime);
    const info = await this.exitedRaw;
    await this.spec.onExit?.(info, null);
    rmSync(this.spec.dir, { recursive: true, force: true });
  }
}

function nonEmpty(file: string): boolean {
  try {
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

/** Moves a file to a path that must not exist yet (link + unlink: never overwrites). */
function moveFile(from: string, to: string): void {
  try {
    if (existsSync(to)) unlinkSync(to);
    linkSync(from, to);
    unlinkSync(from);
  } catch (err) {
    throw new WarmHandOverError(`could not move ${path.basename(from)} into the try's folder: ${(err as Error).message}`, { cause: err });
  }
}

/** Moves the warm scratch folder to the try's scratch path; what the executor already put there moves in first. */
function moveScratch(from: string, to: string): void {
  try {
    if (existsSync(to)) {
      for (const entry of readdirSync(to)) renameSync(path.join(to, entry), path.join(from, entry));
      rmdirSync(to);
    }
    renameSync(from, to);
  } catch (err) {
    throw new WarmHandOverError(`could not move the scratch folder into the try's folder: ${(err as Error).message}`, { cause: err });
  }
}
