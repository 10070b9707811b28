/**
 * Building environments: resolve the runtime and the lockfiles, compute the key, and install with `npm ci` (Node)
 * and `uv pip sync` into a venv (Python) into a temporary folder that is renamed to <stateDir>/environments/<key>/ only when complete. A build with the
 * same key is reused at once; concurrent builds of one key wait for each other and happen once.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { AirlockConfig } from "../config/config.js";
import type { ResolvedEnvironment } from "../backends/types.js";
import { environmentKey, shortKey } from "./key.js";
import { BUILD_RECORD, buildDir, environmentLayout, type EnvironmentLayout, type LayoutOptions } from "./layout.js";
import { withFileLock } from "./lock.js";
import { ensureLockfile } from "./lockfile.js";
import { runNpm } from "./npm.js";
import { directorySize, readBuild, setNewestBuild, touchLastUsed } from "./records.js";
import { ensureRuntime, type Runtime } from "./runtime.js";
import { loadEnvironmentSpec } from "./spec.js";
import { findInterpreter, type PythonInterpreter } from "./python/interpreter.js";
import { ensurePythonLock } from "./python/lock.js";
import { installPython, venvPython } from "./python/venv.js";
import type { BuildLog, EnvironmentBuild, EnvironmentSpec } from "./types.js";

/** Options of `buildEnvironment`. */
export interface BuildOptions extends LayoutOptions {
  log?: BuildLog;
  /** Build again even when a build with the same key exists. */
  force?: boolean;
  /** Look for a newer runtime of a requested Node major instead of the cached one. */
  refreshRuntime?: boolean;
  signal?: AbortSignal;
}

/** What `buildEnvironment` did. */
export interface BuildResult {
  spec: EnvironmentSpec;
  build: EnvironmentBuild;
  /** True when a build with the same key existed and nothing was installed. */
  cached: boolean;
}

/** Builds environment `name` of the project for local use (process and sandbox backends). */
export async function buildEnvironment(config: Pick<AirlockConfig, "environmentsFolder" | "projectDir" | "stateDir">, name: string, options: BuildOptions = {}): Promise<BuildResult> {
  const log = options.log ?? (() => {});
  const layout = environmentLayout(config, options);
  const spec = loadEnvironmentSpec(config, name);
  const subject = `environment "${name}"`;
  const runtime = await ensureRuntime(spec.node, { runtimesDir: layout.runtimes, refresh: options.refreshRuntime, log, subject });
  const lock = spec.packageJson ? await ensureLockfile(spec, { layout, log, signal: options.signal }) : null;
  const python = spec.requirements ? findInterpreter(spec.python, subject) : null;
  const pythonLock = python ? await ensurePythonLock(spec, python, { layout, log, signal: options.signal }) : null;
  const key = environmentKey({
    lockfile: lock, nodeVersion: spec.packageJson ? runtime.version : null, packages: spec.packages, base: spec.base, allowScripts: spec.allowScripts,
    ...(python && pythonLock ? { python: { lock: pythonLock, version: python.version } } : {}),
  });

  const existing = options.force ? null : readBuild(layout, key);
  if (existing) {
    setNewestBuild(layout, name, key);
    return { spec, build: existing, cached: true };
  }
  return withFileLock(path.join(layout.locks, `${key}.lock`), {
    what: `the build ${shortKey(key)} of ${subject}`,
    onWait: (holder) => log(`waiting for ${holder}, which is building the same key ${shortKey(key)}`),
  }, async () => {
    const done = options.force ? null : readBuild(layout, key);
    if (done) {
      setNewestBuild(layout, name, key);
      return { spec, build: done, cached: true };
    }
    const build = await install(layout, spec, runtime, key, { node: lock, python: python && pythonLock ? { interpreter: python, lock: pythonLock } : null }, options);
    setNewestBuild(layout, name, key);
    return { spec, build, cached: false };
  });
}

/** The resolved locks a build installs: package-lock.json and/or requirements.lock with its interpreter. */
interface Locks {
  node: Record<string, unknown> | null;
  python: { interpreter: PythonInterpreter; lock: string } | null;
}

async function install(layout: EnvironmentLayout, spec: EnvironmentSpec, runtime: Runtime, key: string, locks: Locks, options: BuildOptions): Promise<EnvironmentBuild> {
  const log = options.log ?? (() => {});
  removeLeftovers(layout, key);
  const tmp = path.join(layout.tmp, `${key}-${randomUUID().slice(0, 8)}`);
  mkdirSync(tmp, { recursive: true });
  try {
    if (spec.packageJson && locks.node) await installNode(tmp, spec, spec.packageJson, locks.node, runtime, options);
    if (locks.python) {
      await installPython(tmp, locks.python.lock, locks.python.interpreter, { subject: `environment "${spec.name}"`, log, signal: options.signal });
    }
    const record: EnvironmentBuild = {
      name: spec.name,
      key,
      root: buildDir(layout, key),
      nodeBinary: runtime.nodeBinary,
      nodeVersion: runtime.version,
      builtAt: new Date().toISOString(),
      sizeBytes: directorySize(tmp),
      packages: spec.packages,
      python: locks.python ? { version: locks.python.interpreter.version, home: locks.python.interpreter.home } : null,
    };
    // The record is written last: a folder without it is not a build.
    writeFileSync(path.join(tmp, BUILD_RECORD), `${JSON.stringify(record, null, 2)}\n`);
    publish(layout, key, tmp);
    log(`built ${shortKey(key)} (${formatBytes(record.sizeBytes)})`);
    return readBuild(layout, key) ?? record;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function installNode(tmp: string, spec: EnvironmentSpec, packageJson: string, lock: Record<string, unknown>, runtime: Runtime, options: BuildOptions): Promise<void> {
  copyFileSync(packageJson, path.join(tmp, "package.json"));
  writeFileSync(path.join(tmp, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
  const count = Object.keys((lock.packages ?? {}) as object).filter((p) => p !== "").length;
  options.log?.(`installing ${count} package${count === 1 ? "" : "s"} (npm ci${spec.allowScripts ? "" : " --ignore-scripts"}) for Node ${runtime.version}`);
  const env: Record<string, string> = {};
  // Native addons (only built when scripts are allowed) must target the environment's Node, not ours.
  if (runtime.dir) Object.assign(env, { npm_config_nodedir: runtime.dir, npm_config_target: runtime.version });
  await runNpm(["ci", ...(spec.allowScripts ? [] : ["--ignore-scripts"]), "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: tmp,
    env,
    subject: `environment "${spec.name}"`,
    signal: options.signal,
  });
}

/** Moves a finished build into place; a forced rebuild replaces the old folder in two renames. */
function publish(layout: EnvironmentLayout, key: string, tmp: string): void {
  const target = buildDir(layout, key);
  if (existsSync(target)) {
    const old = path.join(layout.tmp, `replaced-${key}-${randomUUID().slice(0, 8)}`);
    renameSync(target, old);
    renameSync(tmp, target);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, target);
  }
}

/** Removes temporary folders of earlier builds of `key` that were killed (we hold its lock, so none is live). */
function removeLeftovers(layout: EnvironmentLayout, key: string): void {
  if (!existsSync(layout.tmp)) return;
  for (const entry of readdirSync(layout.tmp)) {
    if (entry.startsWith(`${key}-`)) rmSync(path.join(layout.tmp, entry), { recursive: true, force: true });
  }
}

/** Options of `ensureEnvironment`. */
export interface EnsureOptions extends LayoutOptions {
  log?: BuildLog;
  signal?: AbortSignal;
}

/**
 * The build a task of environment `name` runs in, built on first use and cached by key; marks it used.
 * Called by the executor before launching a task that names an environment.
 */
export async function ensureEnvironment(config: Pick<AirlockConfig, "environmentsFolder" | "projectDir" | "stateDir">, name: string, options: EnsureOptions = {}): Promise<ResolvedEnvironment> {
  const { build } = await buildEnvironment(config, name, { ...options, log: options.log });
  touchLastUsed(build);
  // Two environments with identical inputs share one build; the caller's name is the one to report.
  return {
    name, key: build.key, root: build.root, nodeBinary: build.nodeBinary,
    ...(build.python ? { python: { binary: venvPython(build.root), version: build.python.version, home: build.python.home } } : {}),
  };
}

/** "1.2 MB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
