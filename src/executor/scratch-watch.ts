/**
 * The scratch-disk limit of tries whose scratch directory is on this host (process, sandbox, docker). The walk is
 * asynchronous and stops as soon as the limit is passed, so a big tree costs the event loop nothing and a full one
 * little. The kernel bounds what it can besides: the sandbox's /tmp is a tmpfs of the same size, a docker try's
 * root filesystem is read-only with a sized /tmp, and a pod's scratch emptyDir has a sizeLimit.
 */
import { lstat, opendir } from "node:fs/promises";
import path from "node:path";

/** Bytes used under `dir` (allocated blocks, so sparse files count what they hold), up to just past `stopAbove`. */
export async function diskUsage(dir: string, stopAbove = Number.POSITIVE_INFINITY): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0 && total <= stopAbove) {
    const current = stack.pop() as string;
    let handle;
    try {
      handle = await opendir(current);
    } catch {
      continue;
    }
    for await (const entry of handle) {
      const full = path.join(current, entry.name);
      try {
        const st = await lstat(full);
        total += st.blocks * 512;
        if (entry.isDirectory()) stack.push(full);
      } catch {
        // Removed while we looked.
      }
      if (total > stopAbove) break;
    }
  }
  return total;
}

/** Why a try must stop for its scratch use, or null while it is within its limit. */
export async function scratchOverLimit(dir: string, limitBytes: number): Promise<string | null> {
  const used = await diskUsage(dir, limitBytes);
  if (used <= limitBytes) return null;
  const mib = (n: number) => Math.round(n / 1024 ** 2);
  return `scratch disk limit of ${mib(limitBytes)} MiB exceeded (over ${mib(used)} MiB written to the scratch directory): the task was stopped; write less, clean up as you go, or raise resources.scratch`;
}
