/** The `process` backend: every try in its own child process with an allowlisted environment. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AIRLOCK_DIST, RUNNER_PATH } from "../../core/install.js";
import { hostPythonFor, isPythonTask, PYTHON_FLAGS, pythonRunnerPath } from "../python-runner.js";
import type { Backend, LaunchRequest, RunningTry } from "../types.js";
import { WarmPool, type WarmLaunchSettings } from "../warm/pool.js";
import { WarmHandOverError, WarmProcess, warmScratch } from "../warm/warm-process.js";
import { ReusePool } from "../reuse/pool.js";
import type { ReusedRunnerSpec } from "../reuse/runner.js";
import { ProcessLimits } from "./limits.js";
import { adoptProcess, spawnTry } from "./spawn.js";

/** The SDK a DAG module imports ("airlock" resolves here through the module folder's link): the runner loads it first. */
const SDK_PRELOAD = `--preload=${path.join(AIRLOCK_DIST, "sdk", "index.js")}`;

/** Variables a task process may inherit from the orchestrator; everything else (AIRLOCK_*, credentials) stays out. */
export const ENV_ALLOWLIST = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM"];

/** The environment of a task process: allowlisted variables plus HOME/TMPDIR in its scratch directory. */
export function taskEnv(request: Pick<LaunchRequest, "environment" | "scratchDir">, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ENV_ALLOWLIST) {
    const v = base[key];
    if (v !== undefined) env[key] = v;
  }
  env.PATH ??= "/usr/local/bin:/usr/bin:/bin";
  // In an environment, its Node and its packages' binaries come first (a bash task's `node` is the environment's).
  const e = request.environment;
  if (e) env.PATH = [e.python ? path.dirname(e.python.binary) : null, e.nodeBinary ? path.dirname(e.nodeBinary) : null, path.join(e.root, "node_modules", ".bin"), env.PATH].filter(Boolean).join(":");
  env.HOME = request.scratchDir;
  env.TMPDIR = request.scratchDir;
  return env;
}

/** Options of the process backend. */
export interface ProcessBackendOptions {
  /** Enforces resources (cgroups of this machine by default). */
  limits?: ProcessLimits;
  /** Warm launch (executor.warmLaunch); off when absent. */
  warm?: { settings: WarmLaunchSettings; stateDir: string } | null;
  /** Tries run at once (executor.parallelism): reused runners kept idle per key, so a busy key never restarts them. @default 8 */
  parallelism?: number;
}

/** The process backend with its warm pool (null when warm launch is off), for tests and the bench. */
export interface ProcessBackend extends Backend {
  readonly warmPool: WarmPool | null;
  /** Long-lived runners of tries that declared `reuse: true`. */
  readonly reusePool: ReusePool;
  /** Starts runners for tries like `request` ahead of demand (what a first launch of its kind does). */
  prewarm(request: LaunchRequest): void;
}

/** Creates the process backend. */
export function createProcessBackend(options: ProcessBackendOptions | ProcessLimits = {}): ProcessBackend {
  const o = options instanceof ProcessLimits ? { limits: options } : options;
  const limits = o.limits ?? new ProcessLimits();
  // The cgroups of runners a dead orchestrator left waiting are removed with their folders (cgroup.json there).
  const removeStale = (dir: string) => {
    let cgroup: ReturnType<ProcessLimits["adopted"]> = null;
    try {
      cgroup = limits.adopted(JSON.parse(readFileSync(path.join(dir, "cgroup.json"), "utf8")));
    } catch {
      // None recorded.
    }
    if (cgroup) void limits.hooks(cgroup).onExit({ code: null, signal: null });
  };
  const pool = o.warm?.settings.enabled ? new WarmPool(o.warm.settings, path.join(o.warm.stateDir, "warm", "process"), removeStale) : null;
  const reusePool = new ReusePool({ idleMs: o.warm?.settings.idleMs ?? 60_000, maxIdlePerKey: Math.max(1, o.parallelism ?? 8) });
  const reuseDir = path.join(o.warm?.stateDir ?? os.tmpdir(), "reuse", "process");

  /** The runner's argv of a try and the key of the warm runners that can serve it (same runtime, environment, limits). */
  const runnerOf = (request: LaunchRequest): { argv: string[]; key: string } => {
    const e = request.environment;
    const argv = isPythonTask(request.payload)
      ? [hostPythonFor(e, request.key.taskId).binary, ...PYTHON_FLAGS, pythonRunnerPath(AIRLOCK_DIST)]
      : [e?.nodeBinary ?? process.execPath, RUNNER_PATH, SDK_PRELOAD];
    return { argv, key: JSON.stringify([argv, e?.key ?? null, e?.root ?? null, request.resources ?? null]) };
  };

  const start = async (request: LaunchRequest, argv: string[]) => {
    const cgroup = limits.create(request);
    const [command, ...args] = limits.wrap(cgroup, argv) as [string, ...string[]];
    try {
      return await spawnTry(command, args, { env: taskEnv(request), cwd: request.scratchDir, request, backend: "process", mark: true, extraHandle: { cgroup }, ...limits.hooks(cgroup) });
    } catch (err) {
      await limits.hooks(cgroup).onExit({ code: null, signal: null });
      throw err;
    }
  };

  /** A runner like the one `request` would get (its cgroup and limits too), waiting for a try of the same key. */
  const startWarm = (dir: string, request: LaunchRequest, argv: string[]): WarmProcess => {
    const cgroup = limits.create(request, `warm.${Math.random().toString(36).slice(2, 10)}`);
    const hooks = limits.hooks(cgroup);
    const [command, ...args] = limits.wrap(cgroup, [...argv, "--warm"]) as [string, ...string[]];
    try {
      if (cgroup) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, "cgroup.json"), JSON.stringify(cgroup));
      }
      return WarmProcess.start({
        command, args, env: taskEnv({ environment: request.environment, scratchDir: warmScratch(dir) }),
        cwd: warmScratch(dir), backend: "process", dir, mark: true, extraHandle: { cgroup }, onKill: hooks.onKill, onExit: (info) => hooks.onExit(info),
      });
    } catch (err) {
      void hooks.onExit({ code: null, signal: null });
      throw err;
    }
  };

  /** A long-lived runner for tries like `request` (its cgroup holds the key's limits for the runner's whole life). */
  const reusedSpec = (request: LaunchRequest, argv: string[]): ReusedRunnerSpec => {
    const cgroup = limits.create(request, `reuse.${Math.random().toString(36).slice(2, 10)}`);
    const hooks = limits.hooks(cgroup);
    // stderr joins stdout, so a try's output and events stay in the order they were written.
    const merged = ["/bin/sh", "-c", 'unset PWD; exec "$@" 2>&1', "airlock-reuse", ...argv, "--reuse"];
    const cwd = path.join(reuseDir, `${process.pid}`);
    return { argv: limits.wrap(cgroup, merged), env: taskEnv({ environment: request.environment, scratchDir: cwd }), cwd, extraHandle: { cgroup }, onKill: hooks.onKill, onExit: hooks.onExit };
  };

  const want = (request: LaunchRequest, runner: ReturnType<typeof runnerOf>) => {
    pool?.want(runner.key, (dir) => startWarm(dir, request, runner.argv));
  };

  return {
    name: "process",
    warmPool: pool,
    reusePool,
    async check() {
      return { ok: true };
    },
    prewarm(request) {
      want(request, runnerOf(request));
    },
    async launch(request): Promise<RunningTry> {
      const runner = runnerOf(request);
      if (request.reuse && !isPythonTask(request.payload)) return reusePool.launch(`reuse:${runner.key}`, () => reusedSpec(request, runner.argv), request);
      const slot = pool?.take(runner.key) ?? null;
      // The replacement starts after the hand-over: a spawn blocks this process for milliseconds.
      if (pool) setImmediate(() => want(request, runner));
      if (slot) {
        try {
          return await slot.handOver(request, request.payload);
        } catch (err) {
          if (!(err instanceof WarmHandOverError)) throw err;
          // The try launches cold instead.
        }
      }
      return start(request, runner.argv);
    },
    async adopt(handle) {
      // A reused runner ends with the orchestrator that started it: its try cannot be adopted (it ended).
      if (handle.reused === true) return null;
      const cgroup = limits.adopted(handle.cgroup);
      const running = adoptProcess(handle, limits.hooks(cgroup));
      if (!running && cgroup) await limits.hooks(cgroup).onExit({ code: null, signal: null });
      return running;
    },
    async close() {
      await Promise.all([pool?.close(), reusePool.close()]);
    },
  };
}
