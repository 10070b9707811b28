/**
 * Per-try cgroups for memory, pids and CPU limits, on cgroup v1 (one hierarchy per controller) or v2 (unified),
 * detected from /proc/self/mountinfo. A try's cgroup is also how everything in its sandbox is killed at once
 * and how an out-of-memory kill is told apart from any other death.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Controllers Airlock uses. */
type Controller = "memory" | "pids" | "cpu" | "freezer";

/** The cgroup hierarchies of this machine. */
export type CgroupSystem =
  | { version: 1; mounts: Partial<Record<Controller, string>> }
  | { version: 2; mount: string };

/** A try's cgroup; JSON-serialisable so a restarted orchestrator can find and finish it. */
export interface TryCgroup {
  version: 1 | 2;
  /** v1: one folder per controller hierarchy; v2: one folder. */
  dirs: Partial<Record<Controller, string>>;
  /** The memory limit in bytes, for the "memory limit exceeded" message. */
  memoryBytes: number | null;
}

/** Limits to apply. */
export interface CgroupLimits {
  memoryBytes?: number;
  cpu?: number;
  pids?: number;
}

/** Raised when a cgroup cannot be created or configured; says how to make cgroups available. */
export class CgroupError extends Error {
  override name = "CgroupError";
}

/** Finds the cgroup hierarchies; v1 wins on hybrid systems, where the v2 tree holds no controllers. */
export function detectCgroups(mountinfo = readOrEmpty("/proc/self/mountinfo"), read: (file: string) => string = readOrEmpty): CgroupSystem | null {
  const v1: Partial<Record<Controller, string>> = {};
  let v2: string | null = null;
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const mountPoint = left.split(" ")[4];
    const [fstype, , superOptions = ""] = right.split(" ");
    if (!mountPoint) continue;
    if (fstype === "cgroup2") v2 ??= mountPoint;
    if (fstype === "cgroup") {
      for (const c of superOptions.split(",")) if (c === "memory" || c === "pids" || c === "cpu" || c === "freezer") v1[c] = mountPoint;
    }
  }
  if (v1.memory || v1.pids) return { version: 1, mounts: v1 };
  if (v2 && read(path.join(v2, "cgroup.controllers")).includes("memory")) return { version: 2, mount: v2 };
  return null;
}

/** Creates the cgroup `name` under `parent` (a path relative to each hierarchy's root) with `limits`. */
export function createTryCgroup(system: CgroupSystem, parent: string, name: string, limits: CgroupLimits): TryCgroup {
  const cgroup: TryCgroup = { version: system.version, dirs: {}, memoryBytes: limits.memoryBytes ?? null };
  try {
    if (system.version === 2) {
      const parentDir = path.join(system.mount, parent);
      ensureV2Parent(system.mount, parent);
      const dir = path.join(parentDir, name);
      mkdirSync(dir);
      cgroup.dirs = { memory: dir, pids: dir, cpu: dir, freezer: dir };
      if (limits.memoryBytes) {
        write(dir, "memory.max", String(limits.memoryBytes));
        if (existsSync(path.join(dir, "memory.swap.max"))) write(dir, "memory.swap.max", "0");
        // One process over the limit takes the whole sandbox down, as the task's failure.
        if (existsSync(path.join(dir, "memory.oom.group"))) write(dir, "memory.oom.group", "1");
      }
      if (limits.pids) write(dir, "pids.max", String(limits.pids));
      if (limits.cpu) write(dir, "cpu.max", `${Math.max(1000, Math.round(limits.cpu * 100_000))} 100000`);
      return cgroup;
    }
    for (const controller of ["memory", "pids", "cpu", "freezer"] as const) {
      const mount = system.mounts[controller];
      if (!mount) continue;
      const dir = path.join(mount, parent, name);
      mkdirSync(dir, { recursive: true });
      cgroup.dirs[controller] = dir;
    }
    const { memory, pids, cpu } = cgroup.dirs;
    if (limits.memoryBytes) {
      if (!memory) throw new CgroupError("the memory controller is not mounted; memory limits need it");
      write(memory, "memory.limit_in_bytes", String(limits.memoryBytes));
      // Without this the task could swap past its limit; the file exists only with swap accounting.
      if (existsSync(path.join(memory, "memory.memsw.limit_in_bytes"))) write(memory, "memory.memsw.limit_in_bytes", String(limits.memoryBytes));
    }
    if (limits.pids) {
      if (!pids) throw new CgroupError("the pids controller is not mounted; pids limits need it");
      write(pids, "pids.max", String(limits.pids));
    }
    if (limits.cpu) {
      if (!cpu) throw new CgroupError("the cpu controller is not mounted; cpu limits need it");
      write(cpu, "cpu.cfs_period_us", "100000");
      write(cpu, "cpu.cfs_quota_us", String(Math.max(1000, Math.round(limits.cpu * 100_000))));
    }
    return cgroup;
  } catch (err) {
    // Nothing has joined it yet, so the folders are empty and rmdir suffices.
    for (const dir of new Set(Object.values(cgroup.dirs))) tryRmdir(dir);
    if (err instanceof CgroupError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CgroupError(
      code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? `cannot create cgroups under "${parent}" (${code}): run the orchestrator as root, or give it a delegated cgroup and set the sandbox cgroup parent to it`
        : `cannot set up the try's cgroup: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function ensureV2Parent(mount: string, parent: string): void {
  let dir = mount;
  for (const part of parent.split("/").filter(Boolean)) {
    // Children get controllers only when every ancestor delegates them.
    enableControllers(dir);
    dir = path.join(dir, part);
    mkdirSync(dir, { recursive: true });
  }
  enableControllers(dir);
}

function enableControllers(dir: string): void {
  const enabled = readOrEmpty(path.join(dir, "cgroup.subtree_control")).split(/\s+/);
  const available = readOrEmpty(path.join(dir, "cgroup.controllers")).split(/\s+/);
  const wanted = ["memory", "pids", "cpu"].filter((c) => available.includes(c) && !enabled.includes(c));
  if (wanted.length > 0) write(dir, "cgroup.subtree_control", wanted.map((c) => `+${c}`).join(" "));
}

/** The cgroup.procs files a process must write its pid into to join the cgroup. */
export function procsFiles(cgroup: TryCgroup): string[] {
  return [...new Set(Object.values(cgroup.dirs))].map((d) => path.join(d, "cgroup.procs"));
}

/** Pids in the cgroup (all hierarchies). */
export function cgroupPids(cgroup: TryCgroup): number[] {
  const pids = new Set<number>();
  for (const file of procsFiles(cgroup)) {
    for (const line of readOrEmpty(file).split("\n")) if (line.trim()) pids.add(Number(line));
  }
  return [...pids];
}

/** SIGKILLs everything in the cgroup; forks racing the kill are frozen first (v1 freezer, v2 cgroup.kill). */
export async function killTryCgroup(cgroup: TryCgroup): Promise<void> {
  // The common case: the sandbox's pid namespace ended with its init, taking every process with it.
  if (cgroupPids(cgroup).length === 0) return;
  const v2 = cgroup.version === 2 ? cgroup.dirs.memory ?? cgroup.dirs.pids : undefined;
  if (v2 && existsSync(path.join(v2, "cgroup.kill"))) {
    tryWrite(v2, "cgroup.kill", "1");
  } else {
    const freezer = cgroup.version === 1 ? cgroup.dirs.freezer : v2;
    const frozen = freezer ? await freeze(freezer, cgroup.version) : false;
    for (let round = 0; round < 50; round++) {
      const pids = cgroupPids(cgroup);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      if (frozen) break;
      await sleep(10);
    }
    if (freezer) thaw(freezer, cgroup.version);
  }
  for (let i = 0; i < 400 && cgroupPids(cgroup).length > 0; i++) await sleep(5);
}

/** Freezes the cgroup and waits until every task in it is stopped (so none can fork while being killed). */
async function freeze(dir: string, version: 1 | 2): Promise<boolean> {
  const [file, value] = version === 1 ? ["freezer.state", "FROZEN"] : ["cgroup.freeze", "1"];
  if (!tryWrite(dir, file, value)) return false;
  for (let i = 0; i < 100; i++) {
    const done = version === 1
      ? readOrEmpty(path.join(dir, "freezer.state")).trim() === "FROZEN"
      : /^frozen 1/m.test(readOrEmpty(path.join(dir, "cgroup.events")));
    if (done) return true;
    await sleep(5);
  }
  return false;
}

function thaw(dir: string, version: 1 | 2): void {
  if (version === 1) tryWrite(dir, "freezer.state", "THAWED");
  else tryWrite(dir, "cgroup.freeze", "0");
}

/** Whether the kernel killed a process of the cgroup for exceeding its memory limit. */
export function wasOomKilled(cgroup: TryCgroup): boolean {
  const dir = cgroup.dirs.memory;
  if (!dir) return false;
  const counter = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? 0);
  if (cgroup.version === 2) {
    const events = readOrEmpty(path.join(dir, "memory.events"));
    return counter(events, "oom_kill") > 0 || counter(events, "oom_group_kill") > 0;
  }
  const control = readOrEmpty(path.join(dir, "memory.oom_control"));
  if (/^oom_kill /m.test(control)) return counter(control, "oom_kill") > 0;
  // Kernels before 4.13 have no oom_kill counter: hitting the limit with no memsw headroom is the best evidence.
  return Number(readOrEmpty(path.join(dir, "memory.memsw.failcnt")) || readOrEmpty(path.join(dir, "memory.failcnt")) || 0) > 0;
}

/** Exit status of the join wrapper when the try could not join its cgroup. */
export const JOIN_FAILED = 125;

/**
 * `argv` behind a tiny shell that joins the cgroup and then execs it, so nothing of the try ever runs outside its
 * cgroup (a pid written after spawn would leave a window in which the task allocates unlimited). The shell's own
 * PWD is not passed on: a task's environment stays exactly its allowlist.
 */
export function joinCgroupCommand(cgroup: TryCgroup, argv: string[], name = "airlock-try"): string[] {
  return ["/bin/sh", "-c", `while [ "$1" != -- ]; do echo $$ > "$1" || exit ${JOIN_FAILED}; shift; done; shift; unset PWD; exec "$@"`, name, ...procsFiles(cgroup), "--", ...argv];
}

/** The memory-limit message of a try whose cgroup saw an OOM kill, or null. */
export function oomDetail(cgroup: TryCgroup): string | null {
  if (!wasOomKilled(cgroup)) return null;
  const mib = cgroup.memoryBytes ? Math.round(cgroup.memoryBytes / 1024 ** 2) : null;
  return `memory limit exceeded${mib ? ` (${mib} MiB)` : ""}`;
}

/** A stored cgroup is only trusted when it lies below `parent` in a mounted hierarchy (it is killed and removed). */
export function isOurCgroup(v: unknown, system: CgroupSystem | null, parent: string): v is TryCgroup {
  const c = v as TryCgroup | null;
  if (!system || typeof c !== "object" || c === null || c.version !== system.version || typeof c.dirs !== "object" || c.dirs === null) return false;
  const mounts = system.version === 2 ? [system.mount] : Object.values(system.mounts);
  return Object.values(c.dirs).every((d) => typeof d === "string" && !d.includes("..")
    && mounts.some((m) => path.dirname(d) === path.join(m, parent)));
}

/** Kills what is left and removes the cgroup folders; true when they are gone. */
export async function removeTryCgroup(cgroup: TryCgroup): Promise<boolean> {
  await killTryCgroup(cgroup);
  let gone = true;
  for (const dir of new Set(Object.values(cgroup.dirs))) {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        // EBUSY for a moment while the last exiting processes are reaped.
        if (attempt >= 200) {
          gone = false;
          break;
        }
        await sleep(Math.min(20, 1 + attempt));
      }
    }
  }
  return gone;
}

function write(dir: string, file: string, value: string): void {
  writeFileSync(path.join(dir, file), value);
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not created or already gone
  }
}

function tryWrite(dir: string, file: string, value: string): boolean {
  try {
    write(dir, file, value);
    return true;
  } catch {
    return false;
  }
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
