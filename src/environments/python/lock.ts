/**
 * The resolved lock of a Python environment, requirements.lock beside requirements.txt: every package pinned with
 * its hashes (`uv pip compile --generate-hashes`). Resolved on the first build and whenever requirements.txt or the
 * interpreter's minor version changes; committed by users, so later builds install exactly it, offline from cache.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { withFileLock } from "../lock.js";
import type { EnvironmentLayout } from "../layout.js";
import type { BuildLog, EnvironmentSpec } from "../types.js";
import type { PythonInterpreter } from "./interpreter.js";
import { runUv } from "./uv.js";

/** File name of the lock beside requirements.txt. */
export const PYTHON_LOCK = "requirements.lock";

/** First line of a lock: which requirements.txt and Python minor it was resolved for. */
function header(requirements: string, minor: string): string {
  const sha = createHash("sha256").update(requirements).digest("hex");
  return `# airlock: requirements.txt sha256=${sha} python=${minor}`;
}

/** "3.11.7" → "3.11" */
export function pythonMinor(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}

/** The lock of `spec` when it is present and was resolved for its requirements.txt and Python minor; no network. */
export function currentPythonLock(spec: EnvironmentSpec, pythonVersion: string): string | null {
  if (!spec.requirements) return null;
  const lockPath = path.join(spec.dir, PYTHON_LOCK);
  if (!existsSync(lockPath)) return null;
  const lock = readFileSync(lockPath, "utf8");
  const wanted = header(readFileSync(spec.requirements, "utf8"), pythonMinor(pythonVersion));
  return lock.split("\n", 1)[0] === wanted ? lock : null;
}

/** What of a lock decides the installed packages: its requirement and hash lines, without comments. */
export function canonicalPythonLock(lock: string): string {
  return lock.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "").trim()).filter(Boolean).join("\n");
}

/** Options of `ensurePythonLock`. */
export interface PythonLockOptions {
  layout: EnvironmentLayout;
  log?: BuildLog;
  signal?: AbortSignal;
}

/** The lock of `spec`, resolving it with uv (and writing requirements.lock) when missing or out of date. */
export async function ensurePythonLock(spec: EnvironmentSpec, python: PythonInterpreter, options: PythonLockOptions): Promise<string> {
  const ready = currentPythonLock(spec, python.version);
  if (ready) return ready;
  const lockPath = path.join(spec.dir, PYTHON_LOCK);
  return withFileLock(path.join(options.layout.locks, `resolve-${spec.name}-python.lock`), {
    what: `the Python lock of environment "${spec.name}"`,
    onWait: (holder) => options.log?.(`waiting for ${holder} to resolve ${PYTHON_LOCK}`),
  }, async () => {
    const again = currentPythonLock(spec, python.version);
    if (again) return again;
    options.log?.(existsSync(lockPath) ? `requirements.txt or the Python version changed: updating ${PYTHON_LOCK}` : `resolving Python packages for ${python.version} (writing ${PYTHON_LOCK})`);
    mkdirSync(options.layout.tmp, { recursive: true });
    const out = path.join(options.layout.tmp, `resolve-${spec.name}-${randomUUID().slice(0, 8)}.txt`);
    try {
      const requirements = readFileSync(spec.requirements as string, "utf8");
      // Run in the spec folder, so `-r other.txt` and `-c constraints.txt` lines resolve as the user wrote them.
      await runUv(["pip", "compile", "--quiet", "--generate-hashes", "--no-header", "--python", python.binary, "-o", out, "requirements.txt"], {
        cwd: spec.dir, subject: `environment "${spec.name}"`, signal: options.signal,
      });
      const lock = [
        header(requirements, pythonMinor(python.version)),
        `# Resolved by "airlock env build" (uv pip compile --generate-hashes) for Python ${pythonMinor(python.version)}; commit this file.`,
        readFileSync(out, "utf8"),
      ].join("\n");
      const staged = `${lockPath}.${randomUUID().slice(0, 8)}.tmp`;
      writeFileSync(staged, lock);
      renameSync(staged, lockPath);
      return lock;
    } finally {
      rmSync(out, { force: true });
    }
  });
}
