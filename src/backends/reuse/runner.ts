/**
 * One reused runner: a long-lived runner process (`--reuse`) that runs the tries of one environment one after
 * another. Each try's payload is one line on its stdin; its stdout (stderr is the same pipe) carries the try's
 * output, its events (tagged with the try's nonce) and, last, an end line with the try's exit code. Here that stream
 * is split into each try's own raw log and events files, so the supervisor reads a reused try like any other.
 *
 * A try that is killed (timeout, mark, clear, memory) kills the whole runner: what the try started dies with it,
 * and the pool starts a fresh runner for the next try. When this orchestrator ends, the runner reads end-of-file
 * and exits, whatever it was running.
 *
 * The backend decides how the runner is wrapped (a cgroup, a sandbox) and may prepare each try inside it
 * (`prepare`: e.g. give a sandboxed runner the try's files and scratch folder, and take them back after the try).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync } from "node:fs";
import type { TaskPayload } from "../../runner/protocol.js";
import { REUSE_END_PREFIX } from "../../runner/protocol.js";
import { OutputDemuxer } from "../docker/output.js";
import { killTree, processStartTime, TRY_MARKER_VARIABLE } from "../process/proc.js";
import { exitOf, spawnedPid, type ProcessHandle } from "../process/spawn.js";
import type { BackendName } from "../../sdk/types.js";
import type { ExitInfo, LaunchRequest, RunningTry } from "../types.js";

/** How a reused runner is started and what happens when it ends. */
export interface ReusedRunnerSpec {
  /** The runner's argv (already wrapped in its cgroup, if any), ending in `--reuse`. */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** The backend named in the try's handle. @default "process" */
  backend?: BackendName;
  /** Put the try marker in the runner's environment, so daemons that escape its process group are found. @default true */
  mark?: boolean;
  /** Open descriptors handed to the runner as fd 4, 5, … (closed here once it started; e.g. a seccomp filter). */
  extraFds?: number[];
  extraHandle?: Record<string, unknown>;
  /** Called before the runner is killed (e.g. to kill its whole cgroup). */
  onKill?: () => void | Promise<void>;
  /**
   * Called once the runner has ended (e.g. to read its cgroup's OOM counter and remove it); may add detail.
   * `during` is the try it was running, if any.
   */
  onExit?: (info: ExitInfo, during: LaunchRequest | null) => ExitInfo | Promise<ExitInfo>;
  /**
   * Makes the runner ready for one try and returns the payload to send; `done` undoes it once the try ended
   * (before the try's end is reported). Without it the request's payload is sent as it is.
   */
  prepare?: (request: LaunchRequest) => Promise<{ payload: TaskPayload; done: () => Promise<void> }>;
  /** Called last, after the runner and its last try ended (e.g. to remove the runner's folder). */
  cleanup?: () => Promise<void>;
}

/** Raised when a reused runner cannot take a try (it ended, or is busy). */
export class ReusedRunnerError extends Error {
  override name = "ReusedRunnerError";
}

interface Current {
  request: LaunchRequest;
  nonce: string;
  marker: Buffer;
  demux: OutputDemuxer;
  resolve: (info: ExitInfo) => void;
}

/** A long-lived runner serving one try at a time. */
export class ReusedRunner {
  readonly pid: number;
  /** Tries this runner has been given. */
  tries = 0;
  /** When it last became idle (pool reaping). */
  idleSince = Date.now();
  private readonly child: ChildProcess;
  private readonly handle: ProcessHandle;
  private readonly exited: Promise<ExitInfo>;
  /** Settles once the runner ended, its last try was reported and its `cleanup` ran. */
  private readonly gone: Promise<void>;
  private current: Current | null = null;
  private carry: Buffer = Buffer.alloc(0);
  private killedFor: string | null = null;
  private dead = false;
  /** Settles once the current try's `done` ran (its end can be reported). */
  private tryDone: Promise<unknown> = Promise.resolve();
  private preparing = false;

  private constructor(private readonly spec: ReusedRunnerSpec, child: ChildProcess, pid: number, marker: string) {
    this.child = child;
    this.pid = pid;
    this.handle = { backend: spec.backend ?? "process", pid, pgid: pid, startTime: processStartTime(pid) ?? 0, marker, ...spec.extraHandle };
    child.stdout?.on("data", (chunk: Buffer) => this.feed(chunk));
    const closed = new Promise((r) => (child.stdout ? child.stdout.once("close", r) : r(null)));
    this.exited = exitOf(child).then(async (raw) => {
      this.dead = true;
      // Whatever a try left behind (background jobs, daemons) ends with the runner; then its output is read to the
      // end (bounded: a process that escaped every kill may hold the pipe).
      killTree(this.handle.pid, this.handle.pgid, marker, this.handle.startTime);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 2_000)))]);
      clearTimeout(timer);
      const info = this.killedFor ? { ...raw, detail: raw.detail ?? this.killedFor } : raw;
      return spec.onExit ? spec.onExit(info, this.current?.request ?? null) : info;
    });
    this.gone = this.exited.then(async (info) => {
      const c = this.current;
      this.current = null;
      if (c) {
        c.demux.close();
        const why = info.detail ?? (info.signal ? `the reused runner (pid ${pid}) was killed by ${info.signal}` : `the reused runner (pid ${pid}) exited with code ${String(info.code)} during the try`);
        c.resolve({ ...info, detail: why });
      }
      await this.tryDone;
      await spec.cleanup?.().catch(() => undefined);
    });
  }

  /** Starts a runner; it waits for its first payload. */
  static async start(spec: ReusedRunnerSpec): Promise<ReusedRunner> {
    const marker = randomBytes(12).toString("hex");
    const [command, ...args] = spec.argv as [string, ...string[]];
    mkdirSync(spec.cwd, { recursive: true });
    const env = spec.mark === false ? spec.env : { ...spec.env, [TRY_MARKER_VARIABLE]: marker };
    const extra = spec.extraFds ?? [];
    let child: ChildProcess;
    try {
      child = spawn(command, args, { cwd: spec.cwd, env, detached: true, stdio: ["pipe", "pipe", "ignore", ...(extra.length ? ["ignore" as const, ...extra] : [])] });
    } finally {
      for (const fd of extra) closeSync(fd);
    }
    const pid = await spawnedPid(child, command);
    child.stdin?.on("error", () => undefined);
    return new ReusedRunner(spec, child, pid, marker);
  }

  /** Whether it can take a try now. */
  get idle(): boolean {
    return !this.dead && this.current === null && !this.preparing && this.killedFor === null;
  }

  /** Whether it has ended. */
  get ended(): boolean {
    return this.dead;
  }

  /**
   * Runs one try (its scratch folder must exist); `onEnd` is called when the try ended and the runner still lives
   * (it can take the next one). A failing `prepare` leaves the runner idle and throws (the try can launch otherwise).
   */
  async run(request: LaunchRequest, onEnd: (runner: ReusedRunner) => void): Promise<RunningTry> {
    if (!this.idle) throw new ReusedRunnerError(`the reused runner (pid ${this.pid}) cannot take a try: it is ${this.dead ? "gone" : "busy"}`);
    let payload: TaskPayload = request.payload;
    let done: (() => Promise<void>) | null = null;
    if (this.spec.prepare) {
      this.preparing = true;
      try {
        ({ payload, done } = await this.spec.prepare(request));
      } catch (err) {
        throw new ReusedRunnerError(`the reused runner (pid ${this.pid}) could not be made ready for the try: ${(err as Error).message}`, { cause: err });
      } finally {
        this.preparing = false;
      }
      if (!this.idle) {
        await done().catch(() => undefined);
        throw new ReusedRunnerError(`the reused runner (pid ${this.pid}) ended while it was made ready for the try`);
      }
    }
    this.tries++;
    // The events stay in memory: a reused try ends with this process (no restart adopts it).
    const events: string[] = [];
    const demux = new OutputDemuxer({ rawLogPath: request.rawLogPath, eventsPath: request.eventsPath, nonce: payload.nonce, eventSink: events });
    const ended = new Promise<ExitInfo>((resolve) => {
      this.current = { request, nonce: payload.nonce, marker: Buffer.from(`${REUSE_END_PREFIX}${payload.nonce}:`), demux, resolve };
    });
    // The try's end is reported once what `prepare` gave it was taken back (its scratch is where the request says).
    const exited = ended.then(async (info) => {
      await done?.().catch(() => undefined);
      return info;
    });
    this.tryDone = exited;
    void exited.then(() => {
      if (this.idle) {
        this.idleSince = Date.now();
        onEnd(this);
      }
    });
    // The payload (with any granted secrets) goes only through this pipe.
    this.child.stdin?.write(`${JSON.stringify(payload)}\n`);
    return {
      handle: { ...this.handle, reused: true, runnerTry: this.tries },
      exited,
      kill: (reason) => this.kill(reason),
      events: () => events,
    };
  }

  /** Kills the runner and everything it started (a try that must stop takes its runner with it). Idempotent. */
  async kill(reason: string): Promise<void> {
    this.killedFor ??= reason;
    if (this.dead) return;
    await this.spec.onKill?.();
    killTree(this.handle.pid, this.handle.pgid, this.handle.marker, this.handle.startTime);
    await this.gone;
  }

  /** Ends an idle runner (its stdin closes, it exits); a busy one is killed. */
  async dispose(): Promise<void> {
    if (this.current || this.preparing) return this.kill("the runner pool was closed while the try ran");
    this.killedFor ??= "unused";
    this.child.stdin?.end();
    const timer = setTimeout(() => void this.kill("unused"), 2_000);
    await this.gone;
    clearTimeout(timer);
  }

  /** Routes the runner's output: complete lines to the current try's files, up to its end line. */
  private feed(chunk: Buffer): void {
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const lastNl = data.lastIndexOf(0x0a);
    // Lines are routed whole (the end line must be seen whole); an unterminated tail waits for the next chunk.
    this.carry = lastNl === -1 ? Buffer.from(data) : Buffer.from(data.subarray(lastNl + 1));
    if (lastNl === -1) return;
    let rest = data.subarray(0, lastNl + 1);
    while (rest.length > 0) {
      const c = this.current;
      if (!c) return; // Output between tries (a background job of an earlier try) belongs to no try.
      const at = rest.indexOf(c.marker);
      if (at === -1) {
        // No end line of this try yet (tries run one at a time, so no other try's end line can come).
        c.demux.push("stdout", rest);
        return;
      }
      if (at > 0) c.demux.push("stdout", rest.subarray(0, at));
      const eol = rest.indexOf(0x0a, at);
      const code = Number(rest.subarray(at + c.marker.length, eol).toString("utf8"));
      rest = rest.subarray(eol + 1);
      this.current = null;
      c.demux.close();
      c.resolve({ code: Number.isInteger(code) ? code : null, signal: null });
    }
  }
}
