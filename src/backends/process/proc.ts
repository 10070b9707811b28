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

/** True when `pid` is alive and is the same process that started at `startTime`. */
export function isSameProcess(pid: number, startTime: number): boolean {
  return processStartTime(pid) === startTime;
}

function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      const ppid = Number(fields[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // Exited while we looked.
    }
  }
  return children;
}

/** Every descendant of `pid` (children, grandchildren, ...), found through /proc. */
export function descendants(pid: number): number[] {
  const children = parentMap();
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

/** Members of a process group. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && Number(fields[3]) === pgid) out.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/** SIGKILLs a process group and every descendant of `pid`, repeating until none is left (forks race kills). */
export function killTree(pid: number, pgid: number): void {
  for (let round = 0; round < 20; round++) {
    const targets = new Set([...descendants(pid), ...groupMembers(pgid)]);
    if (processStartTime(pid) !== null) targets.add(pid);
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
