/** Linux /proc helpers: process identity (pid + start time) and whole-tree kills. */
import { readFileSync, readdirSync } from "node:fs";

/** Start time of a process in clock ticks since boot, or null when it does not exist (or is a zombie). */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return null;
    return Number(fields[19]);
  } catch {
    return null;
  }
}

/** True when a process `pid` exists (also another user's: EPERM), zombies included. */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when `pid` is alive and is the same process that started at `startTime`. */
export function isSameProcess(pid: number, startTime: number): boolean {
  return processStartTime(pid) === startTime;
}

/** What one pass over /proc knows of a live (non-zombie) process. */
interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Start time in clock ticks since boot. */
  start: number;
}

function scan(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      out.push({ pid: Number(entry), ppid: Number(fields[1]), pgid: Number(fields[3]), start: Number(fields[19]) });
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

function parentMap(procs: ProcInfo[] = scan()): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  return children;
}

function descendantsIn(children: Map<number, number[]>, pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop() as number) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

/** Every descendant of `pid` (children, grandchildren, ...), found through /proc. */
export function descendants(pid: number): number[] {
  return descendantsIn(parentMap(), pid);
}

/** Members of a process group. */
export function groupMembers(pgid: number): number[] {
  return scan().filter((p) => p.pgid === pgid).map((p) => p.pid);
}

/** The environment entry (`NAME=value`) that marks every process of one try; inherited through fork and exec. */
export function markerEntry(marker: string): string {
  return `${TRY_MARKER_VARIABLE}=${marker}`;
}

/** The variable that carries a try's marker in its processes' environments. */
export const TRY_MARKER_VARIABLE = "AIRLOCK_TRY_MARKER";

/**
 * Processes whose environment holds `entry`: they may have left the tree and the group (setsid + double fork).
 * Only processes started at or after `since` (the try's first process) can have inherited it, so only their
 * environments are read: one read per process on the machine would cost more than the try itself.
 */
function markedProcesses(procs: ProcInfo[], entry: string, since = 0): number[] {
  const out: number[] = [];
  for (const p of procs) {
    if (p.start < since) continue;
    try {
      const environ = readFileSync(`/proc/${p.pid}/environ`, "latin1");
      if (environ.startsWith(`${entry}\0`) || environ.includes(`\0${entry}\0`)) out.push(p.pid);
    } catch {
      // Another user's process, or gone.
    }
  }
  return out;
}

/**
 * SIGKILLs a process group, every descendant of `pid`, and (with a marker) every process that carries the try's
 * marker — which catches daemons that escaped with setsid and a double fork. Repeats until none is left, since
 * forks race kills. `since` is the start time of the try's first process (see markedProcesses).
 */
export function killTree(pid: number, pgid: number, marker?: string, since?: number): void {
  for (let round = 0; round < 20; round++) {
    const procs = scan();
    const targets = new Set([...descendantsIn(parentMap(procs), pid), ...procs.filter((p) => p.pgid === pgid).map((p) => p.pid)]);
    if (marker) for (const m of markedProcesses(procs, markerEntry(marker), since)) targets.add(m);
    if (procs.some((p) => p.pid === pid)) targets.add(pid);
    targets.delete(process.pid);
    if (targets.size === 0) return;
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // Group already gone.
    }
    for (const t of targets) {
      try {
        process.kill(t, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
}

/** SIGKILLs every process that carries a try's marker (what a try left behind after its main process ended). */
export function killMarked(marker: string, since?: number): void {
  for (let round = 0; round < 20; round++) {
    const targets = markedProcesses(scan(), markerEntry(marker), since).filter((p) => p !== process.pid);
    if (targets.length === 0) return;
    for (const t of targets) {
      try {
        process.kill(t, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
}
