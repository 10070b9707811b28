/**
 * Host Python interpreters for the process and sandbox backends, found by version: `python3.X` on PATH, the
 * versions pyenv installed, and the system's. A missing version is an error that names the installed ones.
 * (Docker and Kubernetes use the interpreter of the environment image instead.)
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, realpathSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EnvironmentBuildError } from "../errors.js";

/** An interpreter that ran and reported itself. */
export interface PythonInterpreter {
  /** Exact version, e.g. "3.11.7". */
  version: string;
  /** Its real executable (not a shim or a symlink). */
  binary: string;
  /** Its installation prefix (sys.base_prefix): what a sandbox must see of it. */
  home: string;
}

/** `python: "3.11"` or `"3.11.7"` in environment.yaml. */
export const PYTHON_VERSION = /^3\.\d{1,2}(\.\d{1,2})?$/;

const PROBE = "import sys,json;print(json.dumps(['%d.%d.%d' % sys.version_info[:3], sys.executable, sys.base_prefix]))";
const probed = new Map<string, PythonInterpreter | null>();

/** Runs `command` to learn its version; null when it does not run (e.g. a pyenv shim of a version not selected). */
export function probeInterpreter(command: string): PythonInterpreter | null {
  const cached = probed.get(command);
  if (cached !== undefined) return cached;
  const r = spawnSync(command, ["-I", "-c", PROBE], { encoding: "utf8", timeout: 10_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  let found: PythonInterpreter | null = null;
  if (r.status === 0) {
    try {
      const [version, exe, home] = JSON.parse(r.stdout) as [string, string, string];
      found = { version, binary: realpathSync(exe), home };
    } catch {
      found = null;
    }
  }
  probed.set(command, found);
  return found;
}

/** Every interpreter found on this host, newest first, one per executable. */
export function installedInterpreters(): PythonInterpreter[] {
  const commands: string[] = [];
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/bin", "/usr/bin"].filter(Boolean);
  for (const dir of dirs) {
    try {
      for (const f of readdirSync(dir)) if (/^python3(\.\d+)?$/.test(f)) commands.push(path.join(dir, f));
    } catch {
      // not a folder
    }
  }
  const pyenv = path.join(process.env.PYENV_ROOT ?? path.join(os.homedir(), ".pyenv"), "versions");
  if (existsSync(pyenv)) for (const v of readdirSync(pyenv)) commands.push(path.join(pyenv, v, "bin", "python3"));
  const seen = new Map<string, PythonInterpreter>();
  for (const c of commands) {
    const found = existsSync(c) ? probeInterpreter(c) : null;
    if (found && !seen.has(found.binary)) seen.set(found.binary, found);
  }
  return [...seen.values()].sort((a, b) => compareVersions(b.version, a.version));
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

function matches(version: string, requested: string): boolean {
  return version === requested || version.startsWith(`${requested}.`);
}

/**
 * The host interpreter for `requested` ("3.11", "3.11.7"; null = `python3` on PATH). Throws an
 * EnvironmentBuildError naming the installed versions when none matches.
 */
export function findInterpreter(requested: string | null, subject: string): PythonInterpreter {
  // The quick path: python3 / python3.X on PATH, without probing everything installed.
  const direct = probeInterpreter(requested === null ? "python3" : `python${requested.split(".").slice(0, 2).join(".")}`);
  if (direct && (requested === null || matches(direct.version, requested))) return direct;
  const all = installedInterpreters();
  const found = requested === null ? all[0] : all.find((i) => matches(i.version, requested));
  if (found) return found;
  const installed = all.length > 0 ? all.map((i) => `${i.version} (${i.binary})`).join(", ") : "none";
  throw new EnvironmentBuildError("runtime_not_found",
    `${subject}: Python ${requested ?? "3"} is not installed on this host (found: ${installed})`,
    requested === null
      ? "install Python 3 (apt-get install python3), or run the task on the docker backend"
      : `install Python ${requested} (e.g. with pyenv or apt-get install python${requested}), or set python in environment.yaml to an installed version`);
}
