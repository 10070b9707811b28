/**
 * Running uv, the Python package installer Airlock resolves and installs Python environments with. It is
 * installed from PyPI by scripts/setup.sh into the Airlock cache (outside any project), or found on PATH.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EnvironmentBuildError } from "../errors.js";

/** Airlock's cache folder: `AIRLOCK_CACHE_DIR`, default ~/.cache/airlock. */
export function airlockCacheDir(): string {
  return process.env.AIRLOCK_CACHE_DIR || path.join(os.homedir(), ".cache", "airlock");
}

/** How to install uv, for error messages. */
export const UV_INSTALL_HINT = "install it with scripts/setup.sh (a venv with uv in ${AIRLOCK_CACHE_DIR:-~/.cache/airlock}/uv), or: pip install --user uv";

/** The uv executable: the one scripts/setup.sh installed, else `uv` on PATH; null when there is none. */
export function findUv(): string | null {
  const cached = path.join(airlockCacheDir(), "uv", "bin", "uv");
  if (existsSync(cached)) return cached;
  for (const dir of [...(process.env.PATH ?? "").split(":"), path.join(os.homedir(), ".local", "bin")]) {
    if (dir && existsSync(path.join(dir, "uv"))) return path.join(dir, "uv");
  }
  return null;
}

/** Options of `runUv`. */
export interface UvOptions {
  cwd: string;
  /** What is being built, for messages. */
  subject: string;
  signal?: AbortSignal;
}

/** Runs `uv <args>`; resolves with stdout, rejects with an EnvironmentBuildError that names the package or the cause. */
export function runUv(args: string[], options: UvOptions): Promise<string> {
  const uv = findUv();
  if (!uv) {
    return Promise.reject(new EnvironmentBuildError("uv_missing", `${options.subject}: uv, which builds Python environments, is not installed`, UV_INSTALL_HINT));
  }
  return new Promise((resolve, reject) => {
    // The orchestrator's environment carries index, proxy and certificate settings; uv must never fetch Pythons.
    const env = { ...process.env, UV_PYTHON_DOWNLOADS: "never", UV_NO_PROGRESS: "1", NO_COLOR: "1" };
    const child = spawn(uv, args, { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"], signal: options.signal });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr = (stderr + d.toString()).slice(-32 * 1024); });
    child.on("error", (err) => reject(new EnvironmentBuildError("install_failed", `${options.subject}: could not run ${uv}: ${err.message}`, UV_INSTALL_HINT, { cause: err })));
    child.on("close", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(classifyUvFailure(`uv ${args.slice(0, 2).join(" ")}`, options.subject, stderr, code, signal));
    });
  });
}

/** Turns uv's error output into an EnvironmentBuildError naming the package, the version or the index. */
export function classifyUvFailure(command: string, subject: string, output: string, code: number | null, signal: NodeJS.Signals | null): EnvironmentBuildError {
  const text = output.replace(/\x1b\[[0-9;]*m/g, "");
  const unknown = /Because ([A-Za-z0-9._-]+) was not found in the package registry/.exec(text) ?? /No matching distribution found for ([A-Za-z0-9._-]+)/.exec(text);
  if (unknown?.[1]) {
    return new EnvironmentBuildError("package_not_found", `${subject}: Python package ${unknown[1]} was not found in the package index`,
      "check its name in requirements.txt (and, for a private package, the index settings such as UV_INDEX_URL)");
  }
  if (/No solution found when resolving/.test(text)) {
    const why = text.split("\n").map((l) => l.trim()).filter((l) => /^(╰─▶|Because|And because|hint:)/.test(l)).slice(0, 4).join(" ");
    return new EnvironmentBuildError("version_not_found", `${subject}: the versions in requirements.txt cannot be satisfied: ${why || text.trim().slice(0, 500)}`,
      "relax the version pins in requirements.txt (pip index versions <package> lists the published ones)");
  }
  if (/(error sending request|dns error|Connection refused|timed out|tcp connect error|certificate)/i.test(text)) {
    return new EnvironmentBuildError("registry_unreachable", `${subject}: could not reach the Python package index (${text.trim().split("\n").slice(-2).join(" ")})`,
      "check the network, the proxy settings and UV_INDEX_URL, then build again");
  }
  const how = signal ? `was killed by ${signal}` : `exited with code ${code ?? "?"}`;
  const summary = text.trim().split("\n").filter(Boolean).slice(-6).join("; ");
  return new EnvironmentBuildError("install_failed", `${subject}: ${command} ${how}${summary ? `: ${summary}` : ""}`,
    "run the same uv command in the environment folder to see the full output");
}
