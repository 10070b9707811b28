/** The `process` backend: every try in its own child process with an allowlisted environment. */
import path from "node:path";
import { AIRLOCK_DIST, RUNNER_PATH } from "../../core/install.js";
import { hostPythonFor, isPythonTask, PYTHON_FLAGS, pythonRunnerPath } from "../python-runner.js";
import type { Backend, LaunchRequest } from "../types.js";
import { ProcessLimits } from "./limits.js";
import { adoptProcess, spawnTry } from "./spawn.js";

/** Variables a task process may inherit from the orchestrator; everything else (AIRLOCK_*, credentials) stays out. */
export const ENV_ALLOWLIST = ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM"];

/** The environment of a task process: allowlisted variables plus HOME/TMPDIR in its scratch directory. */
export function taskEnv(request: LaunchRequest, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
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

/** Creates the process backend; `limits` enforces resources (cgroups of this machine by default). */
export function createProcessBackend(limits = new ProcessLimits()): Backend {
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
  return {
    name: "process",
    async check() {
      return { ok: true };
    },
    async launch(request) {
      if (isPythonTask(request.payload)) {
        const python = hostPythonFor(request.environment, request.key.taskId);
        return start(request, [python.binary, ...PYTHON_FLAGS, pythonRunnerPath(AIRLOCK_DIST)]);
      }
      return start(request, [request.environment?.nodeBinary ?? process.execPath, RUNNER_PATH]);
    },
    async adopt(handle) {
      const cgroup = limits.adopted(handle.cgroup);
      const running = adoptProcess(handle, limits.hooks(cgroup));
      if (!running && cgroup) await limits.hooks(cgroup).onExit({ code: null, signal: null });
      return running;
    },
    async close() {},
  };
}
