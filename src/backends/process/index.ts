/** The `process` backend: every try in its own child process with an allowlisted environment. */
import path from "node:path";
import { AIRLOCK_DIST, RUNNER_PATH } from "../../core/install.js";
import { hostPythonFor, isPythonTask, PYTHON_FLAGS, pythonRunnerPath } from "../python-runner.js";
import type { Backend, LaunchRequest } from "../types.js";
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

/** Creates the process backend. */
export function createProcessBackend(): Backend {
  return {
    name: "process",
    async check() {
      return { ok: true };
    },
    async launch(request) {
      if (isPythonTask(request.payload)) {
        const python = hostPythonFor(request.environment, request.key.taskId);
        return spawnTry(python.binary, [...PYTHON_FLAGS, pythonRunnerPath(AIRLOCK_DIST)], { env: taskEnv(request), cwd: request.scratchDir, request, backend: "process", mark: true });
      }
      const node = request.environment?.nodeBinary ?? process.execPath;
      return spawnTry(node, [RUNNER_PATH], { env: taskEnv(request), cwd: request.scratchDir, request, backend: "process", mark: true });
    },
    async adopt(handle) {
      return adoptProcess(handle);
    },
    async close() {},
  };
}
