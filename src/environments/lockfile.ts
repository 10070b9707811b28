/**
 * The environment's package-lock.json: checked against package.json without the network, and (re)resolved with
 * `npm install --package-lock-only` when missing or out of date, then written back for users to commit.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { withFileLock } from "./lock.js";
import type { EnvironmentLayout } from "./layout.js";
import { runNpm } from "./npm.js";
import { readLockfile } from "./spec.js";
import type { BuildLog, EnvironmentSpec, PackageManifest } from "./types.js";

const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] as const;

/** Whether the lockfile's root entry declares exactly the dependencies of package.json (what `npm ci` requires). */
export function lockMatchesManifest(lock: Record<string, unknown>, manifest: PackageManifest): boolean {
  const root = ((lock.packages ?? {}) as Record<string, Record<string, unknown> | undefined>)[""] ?? {};
  return DEPENDENCY_FIELDS.every((field) => sameMap((root[field] ?? {}) as Record<string, string>, manifest[field]));
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** The lockfile of `spec` if it is present and in sync with package.json; never touches the network. */
export function currentLockfile(spec: EnvironmentSpec): Record<string, unknown> | null {
  if (!spec.lockfile) return null;
  const lock = readLockfile(spec.lockfile, `${spec.name}/package-lock.json`);
  return lockMatchesManifest(lock, spec.manifest) ? lock : null;
}

/** Options of `ensureLockfile`. */
export interface LockfileOptions {
  layout: EnvironmentLayout;
  log?: BuildLog;
  signal?: AbortSignal;
}

/**
 * Returns the resolved lockfile of `spec`, resolving it from the registry when it is missing or no longer
 * matches package.json (as `npm install` would), and writing it to environments/<name>/package-lock.json.
 */
export async function ensureLockfile(spec: EnvironmentSpec, options: LockfileOptions): Promise<Record<string, unknown>> {
  const ready = currentLockfile(spec);
  if (ready) return ready;
  const lockPath = path.join(spec.dir, "package-lock.json");
  return withFileLock(path.join(options.layout.locks, `resolve-${spec.name}.lock`), {
    what: `the lockfile of environment "${spec.name}"`,
    onWait: (holder) => options.log?.(`waiting for ${holder} to resolve the lockfile`),
  }, async () => {
    // Someone else may have resolved it while we waited.
    if (existsSync(lockPath)) {
      const lock = readLockfile(lockPath, `${spec.name}/package-lock.json`);
      if (lockMatchesManifest(lock, spec.manifest)) return lock;
    }
    options.log?.(spec.lockfile ? "package.json changed: updating package-lock.json" : "resolving dependencies (writing package-lock.json)");
    const tmp = path.join(options.layout.tmp, `resolve-${spec.name}-${randomUUID().slice(0, 8)}`);
    mkdirSync(tmp, { recursive: true });
    try {
      copyFileSync(spec.packageJson as string, path.join(tmp, "package.json"));
      if (existsSync(lockPath)) copyFileSync(lockPath, path.join(tmp, "package-lock.json"));
      await runNpm(["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], {
        cwd: tmp,
        subject: `environment "${spec.name}"`,
        signal: options.signal,
      });
      // Write next to the spec atomically: a reader never sees half a lockfile.
      const staged = `${lockPath}.${randomUUID().slice(0, 8)}.tmp`;
      copyFileSync(path.join(tmp, "package-lock.json"), staged);
      renameSync(staged, lockPath);
      return JSON.parse(readFileSync(lockPath, "utf8")) as Record<string, unknown>;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
