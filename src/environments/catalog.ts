/**
 * What is built and who uses it: `env list`, `env show`, `env rm` and `env prune`. Everything here works
 * offline; the store (optional) tells which DAG tasks use which environment.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { AirlockConfig } from "../config/config.js";
import type { Store } from "../store/store.js";
import { environmentKey } from "./key.js";
import { buildDir, environmentLayout, type EnvironmentLayout, type LayoutOptions } from "./layout.js";
import { currentLockfile } from "./lockfile.js";
import { lastUsed, listBuilds, namesWithBuilds, newestBuildKey, readBuild } from "./records.js";
import { findCachedRuntime, hostRuntime } from "./runtime.js";
import { listEnvironmentNames, loadEnvironmentSpec } from "./spec.js";
import { findInterpreter } from "./python/interpreter.js";
import { currentPythonLock } from "./python/lock.js";
import type { EnvironmentSpec, EnvironmentStatus, TaskRef } from "./types.js";

type ProjectConfig = Pick<AirlockConfig, "environmentsFolder" | "projectDir" | "stateDir">;

/** Options of the catalog functions. */
export interface CatalogOptions extends LayoutOptions {
  /** The store, to tell which DAG tasks use an environment. */
  store?: Pick<Store, "listDags"> | null;
}

/** The key the spec would build to now, or null when that needs the network (no lockfile, runtime not cached). */
export function specKey(spec: EnvironmentSpec, layout: EnvironmentLayout): string | null {
  const lock = spec.packageJson ? currentLockfile(spec) : null;
  if (spec.packageJson && !lock) return null;
  const runtime = spec.node === null ? hostRuntime() : findCachedRuntime(layout.runtimes, spec.node);
  if (!runtime) return null;
  let python: { lock: string; version: string } | undefined;
  if (spec.requirements) {
    let interpreter;
    try {
      interpreter = findInterpreter(spec.python, `environment "${spec.name}"`);
    } catch {
      return null;
    }
    const pythonLock = currentPythonLock(spec, interpreter.version);
    if (!pythonLock) return null;
    python = { lock: pythonLock, version: interpreter.version };
  }
  return environmentKey({
    lockfile: lock, nodeVersion: spec.packageJson ? runtime.version : null, packages: spec.packages, base: spec.base, allowScripts: spec.allowScripts,
    ...(python ? { python } : {}),
  });
}

/** Tasks of active DAGs per environment name. */
export async function environmentUsers(store: Pick<Store, "listDags"> | null | undefined): Promise<Map<string, TaskRef[]> | null> {
  if (!store) return null;
  const users = new Map<string, TaskRef[]>();
  const dags = [];
  for (let offset = 0; ; ) {
    const page = await store.listDags({ limit: 500, offset });
    dags.push(...page.dags);
    offset += page.dags.length;
    if (page.dags.length === 0 || offset >= page.total) break;
  }
  for (const dag of dags) {
    if (!dag.isActive) continue;
    for (const task of Object.values(dag.serialized.tasks)) {
      if (!task.environment) continue;
      const list = users.get(task.environment) ?? [];
      list.push({ dagId: dag.dagId, taskId: task.id });
      users.set(task.environment, list);
    }
  }
  for (const list of users.values()) list.sort((a, b) => a.dagId.localeCompare(b.dagId) || a.taskId.localeCompare(b.taskId));
  return users;
}

/** Every environment of the project (and every one built before whose spec is gone), with its state. */
export async function listEnvironments(config: ProjectConfig, options: CatalogOptions = {}): Promise<EnvironmentStatus[]> {
  const layout = environmentLayout(config, options);
  const users = await environmentUsers(options.store);
  const names = [...new Set([...listEnvironmentNames(config), ...namesWithBuilds(layout), ...(users?.keys() ?? [])])].sort();
  return names.map((name) => statusOf(config, layout, name, users?.get(name) ?? []));
}

/** The state of one environment. */
export async function showEnvironment(config: ProjectConfig, name: string, options: CatalogOptions = {}): Promise<EnvironmentStatus & { spec: EnvironmentSpec }> {
  const spec = loadEnvironmentSpec(config, name);
  const users = await environmentUsers(options.store);
  return { ...statusOf(config, environmentLayout(config, options), name, users?.get(name) ?? []), spec };
}

function statusOf(config: ProjectConfig, layout: EnvironmentLayout, name: string, tasks: TaskRef[]): EnvironmentStatus {
  const newest = newestBuildKey(layout, name);
  const previous = newest ? readBuild(layout, newest) : null;
  let spec: EnvironmentSpec | null = null;
  let error: string | null = null;
  let key: string | null = null;
  try {
    spec = loadEnvironmentSpec(config, name);
    key = specKey(spec, layout);
  } catch (err) {
    error = (err as Error).message;
  }
  const current = key ? readBuild(layout, key) : null;
  const build = current ?? previous;
  return {
    name,
    key,
    state: current ? "built" : previous ? "stale" : "not built",
    node: spec?.node ?? null,
    python: spec?.python ?? null,
    isPython: (spec?.requirements ?? null) !== null || Boolean(build?.python),
    isNode: spec ? spec.packageJson !== null : !build?.python,
    build,
    sizeBytes: build?.sizeBytes ?? null,
    lastUsed: build ? lastUsed(build) : null,
    tasks,
    error,
  };
}

/** What `removeEnvironment` and `pruneEnvironments` removed (or would remove). */
export interface Removal {
  name: string;
  key: string;
  sizeBytes: number;
  reason: string;
}

/** Removes every build of environment `name` (its spec folder stays). */
export function removeEnvironment(config: ProjectConfig, name: string, options: LayoutOptions & { dryRun?: boolean } = {}): Removal[] {
  const layout = environmentLayout(config, options);
  const removals = listBuilds(layout).filter((b) => b.name === name)
    .map((b) => ({ name, key: b.key, sizeBytes: b.sizeBytes, reason: "removed by request" }));
  if (!options.dryRun) {
    for (const r of removals) removeBuild(layout, r.key);
    unlinkQuietly(path.join(layout.names, `${name}.json`));
  }
  return removals;
}

/**
 * Removes builds no DAG uses: builds of environments no active DAG names, and builds that are no longer the
 * current one of their environment. Without a store, only the second kind (and builds whose spec is gone).
 */
export async function pruneEnvironments(config: ProjectConfig, options: CatalogOptions & { dryRun?: boolean } = {}): Promise<Removal[]> {
  const layout = environmentLayout(config, options);
  const users = await environmentUsers(options.store);
  const specs = new Set(listEnvironmentNames(config));
  const keep = new Map<string, string>();
  for (const name of specs) {
    if (users && !users.has(name)) continue;
    const key = currentKeyOf(config, layout, name);
    if (key) keep.set(key, name);
  }
  const removals: Removal[] = [];
  for (const build of listBuilds(layout)) {
    if (keep.has(build.key)) continue;
    const reason = !specs.has(build.name) ? "its spec folder is gone"
      : users && !users.has(build.name) ? "no DAG uses the environment"
        : "superseded by a newer build";
    removals.push({ name: build.name, key: build.key, sizeBytes: build.sizeBytes, reason });
  }
  if (!options.dryRun) {
    for (const r of removals) removeBuild(layout, r.key);
    for (const name of namesWithBuilds(layout)) {
      const key = newestBuildKey(layout, name);
      if (!key || !existsSync(buildDir(layout, key))) unlinkQuietly(path.join(layout.names, `${name}.json`));
    }
    removeAbandonedTemporaries(layout);
  }
  return removals;
}

/** The current build's key of `name`: from its spec when known offline, else the newest build's. */
function currentKeyOf(config: ProjectConfig, layout: EnvironmentLayout, name: string): string | null {
  try {
    return specKey(loadEnvironmentSpec(config, name), layout) ?? newestBuildKey(layout, name);
  } catch {
    // An invalid spec keeps its newest build: fixing a typo must not cost a rebuild.
    return newestBuildKey(layout, name);
  }
}

function removeBuild(layout: EnvironmentLayout, key: string): void {
  // Renamed away first, so a half-deleted folder never looks like a build.
  mkdirSync(layout.tmp, { recursive: true });
  const doomed = path.join(layout.tmp, `removed-${key}-${randomUUID().slice(0, 8)}`);
  try {
    renameSync(buildDir(layout, key), doomed);
  } catch {
    return; // removed by someone else
  }
  rmSync(doomed, { recursive: true, force: true });
}

/** Temporary build folders older than a day belong to builds that were killed. */
function removeAbandonedTemporaries(layout: EnvironmentLayout): void {
  if (!existsSync(layout.tmp)) return;
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const entry of readdirSync(layout.tmp)) {
    const p = path.join(layout.tmp, entry);
    if (statSync(p).mtimeMs < dayAgo) rmSync(p, { recursive: true, force: true });
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
