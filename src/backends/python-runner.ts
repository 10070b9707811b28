/**
 * What every backend needs to start the Python runner instead of the Node one for a `python` task: the runner's
 * place in dist/, the interpreter flags, and (on process and sandbox) which host interpreter runs it and what of
 * the host must be visible for it to start.
 */
import path from "node:path";
import { UserError } from "../core/errors.js";
import { EnvironmentBuildError } from "../environments/errors.js";
import { findInterpreter } from "../environments/python/interpreter.js";
import { VENV_DIR } from "../environments/python/venv.js";
import type { TaskPayload } from "../runner/protocol.js";
import type { ResolvedEnvironment } from "./types.js";

/** The Python runner inside a built dist/ folder. */
export function pythonRunnerPath(dist: string): string {
  return path.join(dist, "runner-python", "airlock_runner.py");
}

/**
 * Interpreter flags: isolated mode (PYTHON* variables, the user's site-packages and the current folder are
 * ignored, so nothing outside the environment is imported), unbuffered output (prints reach the log at once),
 * no bytecode files (the code and the environment are read-only).
 */
export const PYTHON_FLAGS = ["-I", "-u", "-B"];

/** Whether the try runs Python code (the Python runner) rather than the Node runner. */
export function isPythonTask(payload: Pick<TaskPayload, "operator">): boolean {
  return payload.operator.kind === "python";
}

/** The host interpreter of a python try and the folders a sandbox must bind read-only for it to start. */
export interface HostPython {
  binary: string;
  /** Its installation (outside /usr, which sandboxes see anyway). */
  mounts: string[];
}

/** The interpreter a python try uses on this host: its environment's venv, or the host's python3 without one. */
export function hostPythonFor(environment: ResolvedEnvironment | null, taskId: string): HostPython {
  if (environment && !environment.python) {
    const hint = `add environments/${environment.name}/requirements.txt (it may be empty), or give the task a Python environment`;
    throw new UserError("invalid_input", `python task "${taskId}" runs in environment "${environment.name}", which has no requirements.txt: ${hint}`, hint);
  }
  let python = environment?.python;
  if (!python) {
    try {
      python = findInterpreter(null, `python task "${taskId}"`);
    } catch (err) {
      // The try's error shows the message only: it must say what to do, too.
      if (err instanceof EnvironmentBuildError) throw new UserError("unavailable", `${err.message}: ${err.hint}`, err.hint, { cause: err });
      throw err;
    }
  }
  const home = path.resolve(python.home);
  return { binary: python.binary, mounts: home === "/usr" || home.startsWith("/usr/") ? [] : [home] };
}

/**
 * The command of a runner container (docker, and kubernetes through the same environment images): the image's venv
 * interpreter with the Python runner for python tasks, else node with the Node runner. `dist` is where Airlock's
 * dist/ is mounted inside, `environmentRoot` where the image holds the environment.
 */
export function containerRunnerCommand(payload: Pick<TaskPayload, "operator">, dist: string, environmentRoot: string): string[] {
  return isPythonTask(payload)
    ? [`${environmentRoot}/${VENV_DIR}/bin/python`, ...PYTHON_FLAGS, pythonRunnerPath(dist)]
    : ["node", `${dist}/runner.mjs`];
}
