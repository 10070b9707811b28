/**
 * Where the orchestrator's main thread goes per try: a V8 CPU profile of this process (which runs every orchestrator
 * part) while a measured run goes on, its samples attributed to parts of Airlock. A sample counts the main thread
 * busy, whether computing or blocked in a synchronous system call (a spawn waits for the child's exec, a sync file
 * operation for the disk): the main thread is what bounds tries per second, so that is the figure that matters. A sample in the file system's or the
 * store's code counts for that; any other sample counts for the nearest Airlock module on its stack (Node's
 * promise and stream internals count for whoever called them).
 */
import { Session } from "node:inspector/promises";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Parts, in the order the rows are printed; the first rule that matches a frame wins. */
const PARTS: Array<[part: string, test: (url: string, fn: string) => boolean]> = [
  ["store (SQL and its driver)", (u) => /\/(kysely|better-sqlite3|pg|pg-protocol|pg-pool)\/|\/dist\/store\//.test(u)],
  ["scheduler (run evaluation)", (u) => /\/dist\/scheduler\//.test(u)],
  ["logs (pump, masking, shipping)", (u) => /\/dist\/executor\/log-|\/dist\/core\/(raw-log|log-times)|\/dist\/secrets\/|\/dist\/backends\/docker\/output/.test(u)],
  ["supervisor and payload", (u) => /\/dist\/executor\//.test(u)],
  ["backend (launch, runners, limits)", (u) => /\/dist\/backends\//.test(u)],
  ["change feed and services", (u) => /\/dist\/(services|fleet|triggers)\//.test(u)],
];
const FS_NATIVE = new Set(["open", "close", "mkdir", "rmdir", "unlink", "lstat", "stat", "fstat", "readdir", "opendir", "rename", "utimes", "futimes",
  "writeBuffer", "writeBuffers", "writeString", "writeUtf8String", "read", "readFileUtf8", "openFileHandle", "fsync", "fdatasync", "ftruncate", "copyFile", "realpath"]);
const FILE_SYSTEM = "file system (syscalls)";
const GC = "garbage collection";
const OTHER = "other (Node internals, timers, bench driver)";

/** Starts profiling this process; the returned function stops and attributes the CPU time (ms per part). */
export async function profileParts(): Promise<() => Promise<Map<string, number>>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  return async () => {
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile };
    session.disconnect();
    return attribute(profile);
  };
}

/** Attributes the samples of a CPU profile (ms per part). */
export function attribute(p: Profile): Map<string, number> {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const partOf = new Map<number, string | null>();
  const classify = (id: number): string | null => {
    const known = partOf.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id) as ProfileNode;
    const { url, functionName } = n.callFrame;
    let part: string | null = null;
    if (functionName === "(idle)" || functionName === "(program)" || functionName === "(root)") part = null;
    else if (functionName === "(garbage collector)") part = GC;
    else if ((url === "" && FS_NATIVE.has(functionName)) || /^node:(fs|internal\/fs\/)/.test(url)) part = FILE_SYSTEM;
    else {
      for (let at: number | undefined = id; at !== undefined && part === null; at = parent.get(at)) {
        const f = (byId.get(at) as ProfileNode).callFrame;
        part = PARTS.find(([, test]) => test(f.url, f.functionName))?.[0] ?? null;
      }
      part ??= OTHER;
    }
    partOf.set(id, part);
    return part;
  };
  const out = new Map<string, number>([...PARTS.map(([part]) => [part, 0] as [string, number]), [FILE_SYSTEM, 0], [GC, 0], [OTHER, 0]]);
  for (let i = 0; i < p.samples.length; i++) {
    const part = classify(p.samples[i] as number);
    if (part) out.set(part, (out.get(part) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  return out;
}
