/** Build records, name pointers and last-use times in the state directory (see layout.ts). */
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { BUILD_RECORD, buildDir, LAST_USED, type EnvironmentLayout } from "./layout.js";
import type { EnvironmentBuild } from "./types.js";

const KEY = /^[0-9a-f]{64}$/;

/** The finished build with `key`, or null when there is none (a build in progress or killed has no record). */
export function readBuild(layout: EnvironmentLayout, key: string): EnvironmentBuild | null {
  try {
    const record = JSON.parse(readFileSync(path.join(buildDir(layout, key), BUILD_RECORD), "utf8")) as EnvironmentBuild;
    return { ...record, root: buildDir(layout, key) };
  } catch {
    return null;
  }
}

/** Every finished build in the state directory. */
export function listBuilds(layout: EnvironmentLayout): EnvironmentBuild[] {
  if (!existsSync(layout.builds)) return [];
  return readdirSync(layout.builds).filter((k) => KEY.test(k)).flatMap((k) => readBuild(layout, k) ?? []);
}

/** Writes a file so readers see the old or the new content, never half. */
export function writeAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomUUID().slice(0, 8)}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Records `key` as the newest build of environment `name`. */
export function setNewestBuild(layout: EnvironmentLayout, name: string, key: string): void {
  const file = path.join(layout.names, `${name}.json`);
  try {
    if ((JSON.parse(readFileSync(file, "utf8")) as { key?: string }).key === key) return;
  } catch {
    // no pointer yet
  }
  writeAtomic(file, JSON.stringify({ key, at: new Date().toISOString() }));
}

/** The key of the newest build of environment `name`, or null. */
export function newestBuildKey(layout: EnvironmentLayout, name: string): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(layout.names, `${name}.json`), "utf8")) as { key: string }).key;
  } catch {
    return null;
  }
}

/** Names that have a pointer (an environment built at least once, even if its spec is gone). */
export function namesWithBuilds(layout: EnvironmentLayout): string[] {
  if (!existsSync(layout.names)) return [];
  return readdirSync(layout.names).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
}

/** Notes that a task is about to use the build (shown as "last used"). */
export function touchLastUsed(build: EnvironmentBuild): void {
  const file = path.join(build.root, LAST_USED);
  const now = new Date();
  try {
    utimesSync(file, now, now);
  } catch {
    try {
      closeSync(openSync(file, "a"));
    } catch {
      // A read-only state directory only loses the "last used" column.
    }
  }
}

/** When a task last used the build, or null. */
export function lastUsed(build: EnvironmentBuild): string | null {
  try {
    return statSync(path.join(build.root, LAST_USED)).mtime.toISOString();
  } catch {
    return null;
  }
}

/** Total size in bytes of the files under `dir` (symlinks counted as links). */
export function directorySize(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const p = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(p);
      else total += lstatSync(p).size;
    }
  }
  return total;
}
