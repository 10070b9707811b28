/**
 * Installing a Python environment into a build folder: a relocatable venv on the host interpreter, holding exactly
 * the packages of the lock (hashes checked). Runs inside the atomic build of environments/build.ts.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { EnvironmentBuildError } from "../errors.js";
import type { BuildLog } from "../types.js";
import type { PythonInterpreter } from "./interpreter.js";
import { PYTHON_LOCK } from "./lock.js";
import { runUv } from "./uv.js";

/** The venv's folder inside a build folder (and inside an environment image). */
export const VENV_DIR = "venv";

/** The venv's interpreter in a build folder. */
export function venvPython(root: string): string {
  return path.join(root, VENV_DIR, "bin", "python");
}

/** Creates `<dir>/venv` with `python` and installs the lock into it. */
export async function installPython(dir: string, lock: string, python: PythonInterpreter, o: { subject: string; log: BuildLog; signal?: AbortSignal }): Promise<void> {
  const lockFile = path.join(dir, PYTHON_LOCK);
  writeFileSync(lockFile, lock);
  const count = lock.split("\n").filter((l) => /^[A-Za-z0-9]/.test(l)).length;
  o.log(`installing ${count} Python package${count === 1 ? "" : "s"} (uv pip sync --require-hashes) for Python ${python.version}`);
  const venv = path.join(dir, VENV_DIR);
  // Relocatable: the build folder is renamed into place when complete.
  await runUv(["venv", "--quiet", "--relocatable", "--python", python.binary, venv], { cwd: dir, subject: o.subject, signal: o.signal });
  // Copies, not links into uv's cache: a task that writes into its packages must not alter other environments.
  await runUv(["pip", "sync", "--quiet", "--require-hashes", "--link-mode", "copy", "--python", venvPython(dir), lockFile], { cwd: dir, subject: o.subject, signal: o.signal });
  const check = spawnSync(venvPython(dir), ["-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], { encoding: "utf8", timeout: 30_000 });
  if (check.stdout.trim() !== python.version) {
    throw new EnvironmentBuildError("install_failed", `${o.subject}: the new venv does not start (${(check.stderr || check.error?.message || check.stdout).trim()})`,
      `check that ${python.binary} works, then build again`);
  }
}
