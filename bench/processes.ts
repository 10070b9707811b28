/** Processes of a system under test (bench/peers): memory of a process group, stopping it, finding stragglers. */
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const pids = () => readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(Number);

/** Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [2] pgid. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Resident memory of every process in `pgid`'s group, in MiB. */
export function groupRssMiB(pgid: number): number {
  let kib = 0;
  for (const pid of pids()) {
    if (Number(statFields(pid)?.[2]) !== pgid) continue;
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // Gone meanwhile.
    }
  }
  return kib / 1024;
}

/** A live (not zombie) process whose environment holds `entry` (e.g. `AIRFLOW_HOME=/tmp/x`), with its command line. */
export interface MarkedProcess {
  pid: number;
  argv: string[];
  zombie: boolean;
}

/** Every process whose environment holds `entry` exactly: a system's processes found by its unique home folder. */
export function processesWithEnv(entry: string): MarkedProcess[] {
  const found: MarkedProcess[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    const fields = statFields(pid);
    if (!fields) continue;
    try {
      const zombie = fields[0] === "Z";
      // A zombie's environ reads empty: it is matched through its parent's.
      const env = readFileSync(`/proc/${zombie ? Number(fields[1]) : pid}/environ`, "utf8").split("\0");
      if (!env.includes(entry)) continue;
      found.push({ pid, argv: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean), zombie });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Ends `child`'s process group (TERM, then KILL after 20 s) and then every process still carrying `envEntry`. */
export async function stopGroup(child: ChildProcess, envEntry?: string): Promise<void> {
  if (child.exitCode === null && child.pid) {
    const exited = new Promise((r) => child.once("exit", r));
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-(child.pid as number), signal);
        return true;
      } catch {
        return false;
      }
    };
    if (kill("SIGTERM")) {
      const timer = setTimeout(() => kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
      // Task processes of either system may outlive their parent for a moment.
      await new Promise((r) => setTimeout(r, 500));
      kill("SIGKILL");
    }
  }
  // Task processes that made process groups of their own (Airflow's task supervisors do) are found by environment.
  if (envEntry) {
    for (const p of processesWithEnv(envEntry)) {
      try {
        if (!p.zombie) process.kill(p.pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
  }
}
