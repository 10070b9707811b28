/**
 * The memory limit of DAG-file parse children. V8's heap flag bounds only the JavaScript heap: Buffers and other
 * off-heap memory are not in it, so a file allocating gigabytes of Buffers imported fine. Each parse child runs in
 * a cgroup of its own (the per-try cgroups of the sandbox) with a memory limit; where no cgroup can be made, in
 * RLIMIT_DATA, which counts Buffers (private writable mappings) but not V8's reserved, uncommitted address space.
 * (RLIMIT_AS cannot serve: a Node process that does nothing reserves about 700 MiB of address space.)
 */
import { CgroupError, createTryCgroup, detectCgroups, joinCgroupCommand, killTryCgroup, removeTryCgroup, wasOomKilled, type CgroupSystem, type TryCgroup } from "../backends/sandbox/cgroups.js";

/** Where parse children's cgroups are made (relative to each hierarchy's root). */
export const PARSE_CGROUP_PARENT = "airlock-parse";

/** One parse child's confinement: the argv to spawn, and what to do when it ended. */
export interface ParseConfinement {
  argv: string[];
  /** Kills everything of the parse (its esbuild helper included). */
  kill(): Promise<void>;
  /** After the child ended: whether it hit the memory limit; releases the cgroup. */
  finish(): Promise<{ overLimit: boolean }>;
}

/** Confines parse children to `memoryMiB` each. */
export class ParseLimits {
  private readonly system: CgroupSystem | null;

  constructor(readonly memoryMiB: number, system: CgroupSystem | null | undefined = process.platform === "linux" ? detectCgroups() : null) {
    this.system = system ?? null;
  }

  /** The confinement of one parse child running `argv`. */
  confine(argv: string[]): ParseConfinement {
    const bytes = this.memoryMiB * 1024 * 1024;
    let cgroup: TryCgroup | null = null;
    if (this.system) {
      try {
        cgroup = createTryCgroup(this.system, PARSE_CGROUP_PARENT, `parse.${process.pid}.${Math.random().toString(36).slice(2, 10)}`, { memoryBytes: bytes, pids: 256 });
      } catch (err) {
        if (!(err instanceof CgroupError)) throw err;
      }
    }
    if (cgroup) {
      const cg = cgroup;
      return {
        argv: joinCgroupCommand(cg, argv, "airlock-parse"),
        kill: () => killTryCgroup(cg),
        async finish() {
          const overLimit = wasOomKilled(cg);
          await removeTryCgroup(cg);
          return { overLimit };
        },
      };
    }
    // ulimit -d takes KiB. A child that runs out fails an allocation (an error it reports) or dies of V8's OOM.
    return {
      argv: ["/bin/sh", "-c", `ulimit -d ${Math.floor(bytes / 1024)} || exit 125; exec "$@"`, "airlock-parse", ...argv],
      kill: async () => undefined,
      finish: async () => ({ overLimit: false }),
    };
  }
}
