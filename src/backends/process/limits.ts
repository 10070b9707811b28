/**
 * Memory, CPU and pids limits of process-backend tries, through the same per-try cgroups as the sandbox. Limits a
 * task asks for are enforced or refused with the reason, never ignored: without a writable cgroup there is no
 * rlimit that bounds a Node task's memory (V8 reserves far more address space than it uses, so RLIMIT_AS kills
 * healthy tasks, and RLIMIT_DATA does not count Buffers allocated with mmap alike on every kernel).
 */
import { UserError } from "../../core/errors.js";
import { parseMemory } from "../../environments/resources.js";
import type { Resources } from "../../sdk/types.js";
import { DEFAULT_PIDS_LIMIT, type ExitInfo, type LaunchRequest } from "../types.js";
import { CgroupError, JOIN_FAILED, createTryCgroup, detectCgroups, isOurCgroup, joinCgroupCommand, killTryCgroup, oomDetail, removeTryCgroup, type CgroupSystem, type TryCgroup } from "../sandbox/cgroups.js";

/** Where process tries' cgroups are made (relative to each hierarchy's root). */
export const PROCESS_CGROUP_PARENT = "airlock-process";

/** The limits a try asked for, by field name, for messages. */
function asked(resources: Resources | null): string[] {
  return (["memory", "cpu", "pids"] as const).filter((k) => resources?.[k] !== undefined).map((k) => `resources.${k}`);
}

/** Per-try cgroups of one process backend. */
export class ProcessLimits {
  private readonly system: CgroupSystem | null;

  constructor(system: CgroupSystem | null | undefined = process.platform === "linux" ? detectCgroups() : null, private readonly parent = PROCESS_CGROUP_PARENT) {
    this.system = system ?? null;
  }

  /**
   * The try's cgroup with its limits (pids defaults as in the sandbox), or null when the task asked for none and no
   * cgroup can be made here; a task that asked for limits that cannot be enforced gets an error naming them.
   */
  create(request: Pick<LaunchRequest, "resources" | "key">, name?: string): TryCgroup | null {
    const r = request.resources;
    const wanted = asked(r);
    const fix = "run the orchestrator as root or give it a delegated cgroup (v1 or v2), run the task on the sandbox or docker backend, or drop those resources";
    if (!this.system) {
      if (wanted.length) throw new UserError("unavailable", `task "${request.key.taskId}" sets ${wanted.join(", ")}, which the process backend enforces with cgroups, and none are mounted here`, fix, { field: wanted[0] });
      return null;
    }
    const { dagId, taskId, tryNumber } = request.key;
    const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 60);
    const cgroupName = name ?? `${clean(dagId)}.${clean(taskId)}.${tryNumber}.${Math.random().toString(36).slice(2, 8)}`;
    try {
      return createTryCgroup(this.system, this.parent, cgroupName, {
        memoryBytes: r?.memory !== undefined ? parseMemory(r.memory) : undefined,
        cpu: r?.cpu,
        pids: r?.pids ?? DEFAULT_PIDS_LIMIT,
      });
    } catch (err) {
      if (!wanted.length && err instanceof CgroupError) return null;
      throw new UserError("unavailable", `task "${taskId}" sets ${wanted.join(", ")}, which the process backend cannot enforce here: ${(err as Error).message}`, fix, { cause: err, field: wanted[0] });
    }
  }

  /** The argv that runs `argv` inside the cgroup. */
  wrap(cgroup: TryCgroup | null, argv: string[]): string[] {
    return cgroup ? joinCgroupCommand(cgroup, argv, "airlock-process") : argv;
  }

  /** A cgroup stored in a handle, if it is one of ours. */
  adopted(v: unknown): TryCgroup | null {
    return isOurCgroup(v, this.system, this.parent) ? v : null;
  }

  /** Kill and exit hooks for spawnTry/adoptProcess: everything in the cgroup dies; an OOM kill is named. */
  hooks(cgroup: TryCgroup | null): { onKill: () => Promise<void>; onExit: (info: ExitInfo) => Promise<ExitInfo> } {
    return {
      onKill: async () => {
        if (cgroup) await killTryCgroup(cgroup);
      },
      onExit: async (info) => {
        if (!cgroup) return info;
        const oom = oomDetail(cgroup);
        await removeTryCgroup(cgroup);
        if (oom) return { ...info, oomKilled: true, detail: oom };
        if (info.code === JOIN_FAILED) return { ...info, detail: info.detail ?? "the try could not join its cgroup" };
        return info;
      },
    };
  }
}
