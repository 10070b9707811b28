/** The `process` backend: every try in its own child process with an allowlisted environment. */
import path from "node:path";
import { AIRLOCK_DIST, RUNNER_PATH } from "../../core/install.js";
import { hostPythonFor, isPythonTask, PYTHON_FLAGS, pythonRunnerPath } from "../python-runner.js";
import type { Backend, LaunchRequest, RunningTry } from "../types.js";
import { WarmPool, type WarmLaunchSettings } from "../warm/pool.js";
import { WarmHandOverError, WarmProcess, warmScratch } from "../warm/warm-process.js";
import { ProcessLimits } from "./limits.js";
import { adoptProcess, spawnTry } from "./spawn.js";

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
}

/** The process backend with its warm pool (null when warm launch is off), for tests and the bench. */
export interface ProcessBackend extends Backend {
  readonly warmPool: WarmPool | null;
  /** Starts runners for tries like `request` ahead of demand (what a first launch of its kind does). */
  prewarm(request: LaunchRequest): void;
}

/** Creates the process backend. */
export function createProcessBackend(options: ProcessBackendOptions | ProcessLimits = {}): ProcessBackend {
  const o = options instanceof ProcessLimits ? { limits: options } : options;
  const limits = o.limits ?? new ProcessLimits();
  const pool = o.warm?.settings.enabled ? new WarmPool(o.warm.settings, path.join(o.warm.stateDir, "warm", "process")) : null;

  /** The runner's argv of a try and the key of the warm runners that can serve it (same runtime, environment, limits). */
  const runnerOf = (request: LaunchRequest): { argv: string[]; key: string } => {
    const e = request.environment;
    const argv = isPythonTask(request.payload)
      ? [hostPythonFor(e, request.key.taskId).binary, ...PYTHON_FLAGS, pythonRunnerPath(AIRLOCK_DIST)]
      : [e?.nodeBinary ?? process.execPath, RUNNER_PATH];
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
      return WarmProcess.start({
        command, args, env: taskEnv({ environment: request.environment, scratchDir: warmScratch(dir) }),
        cwd: warmScratch(dir), backend: "process", dir, mark: true, extraHandle: { cgroup }, onKill: hooks.onKill, onExit: (info) => hooks.onExit(info),
      });
    } catch (err) {
      void hooks.onExit({ code: null, signal: null });
      throw err;
    }
  };

  const want = (request: LaunchRequest, runner: ReturnType<typeof runnerOf>) => {
    pool?.want(runner.key, (dir) => startWarm(dir, request, runner.argv));
  };

  return {
    name: "process",
    warmPool: pool,
    async check() {
      return { ok: true };
    },
    prewarm(request) {
      want(request, runnerOf(request));
    },
    async launch(request): Promise<RunningTry> {
      const runner = runnerOf(request);
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
      const cgroup = limits.adopted(handle.cgroup);
      const running = adoptProcess(handle, limits.hooks(cgroup));
      if (!running && cgroup) await limits.hooks(cgroup).onExit({ code: null, signal: null });
      return running;
    },
    async close() {
      await pool?.close();
    },
  };
}
