/**
 * Cgroup detection (v1, v2 and hybrid layouts) and the cgroup v2 code path on a real unified hierarchy:
 * joining, killing everything with cgroup.kill, and removal.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CgroupError, cgroupPids, createTryCgroup, detectCgroups, killTryCgroup, procsFiles, removeTryCgroup } from "../src/backends/sandbox/cgroups.js";
import { alive, waitFor } from "./helpers/sandbox.js";

const V1 = [
  "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct",
  "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer",
  "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
];
const UNIFIED = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";
const V2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot";

describe("detectCgroups", () => {
  it("finds each v1 controller's hierarchy", () => {
    expect(detectCgroups(V1.join("\n"), () => "")).toEqual({
      version: 1,
      mounts: { cpu: "/sys/fs/cgroup/cpu", memory: "/sys/fs/cgroup/memory", freezer: "/sys/fs/cgroup/freezer", pids: "/sys/fs/cgroup/pids" },
    });
  });

  it("prefers v1 on a hybrid system, whose unified tree holds no controllers", () => {
    expect(detectCgroups([...V1, UNIFIED].join("\n"), () => "")?.version).toBe(1);
  });

  it("uses a unified v2 hierarchy that has the memory controller", () => {
    expect(detectCgroups(V2, (f) => (f === "/sys/fs/cgroup/cgroup.controllers" ? "cpuset cpu io memory hugetlb pids rdma misc\n" : ""))).toEqual({ version: 2, mount: "/sys/fs/cgroup" });
    expect(detectCgroups(V2, () => "cpu io\n")).toBeNull();
    expect(detectCgroups("", () => "")).toBeNull();
  });
});

// This machine's unified hierarchy (on a hybrid layout, one without controllers) exercises the v2 code path.
const unified = readFileSync("/proc/self/mountinfo", "utf8").split("\n")
  .find((l) => l.split(" - ")[1]?.startsWith("cgroup2 "))?.split(" ")[4];
const writable = (() => {
  if (!unified || process.getuid?.() !== 0) return false;
  try {
    mkdirSync(path.join(unified, "airlock-probe"));
    rmdirSync(path.join(unified, "airlock-probe"));
    return true;
  } catch {
    return false;
  }
})();
const hasMemory = unified !== undefined && readFileSync(path.join(unified, "cgroup.controllers"), "utf8").includes("memory");

describe.skipIf(!writable)("cgroup v2 (real unified hierarchy)", () => {
  it("joins a try's processes, kills them all at once, and removes the cgroup", async () => {
    const cg = createTryCgroup({ version: 2, mount: unified as string }, "airlock-test", `v2-${process.pid}`, {});
    const [procs] = procsFiles(cg);
    const child = spawn("/bin/sh", ["-c", `echo $$ > "$1"; sleep 600 & setsid sleep 600 & echo ready; wait`, "sh", procs as string], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    await waitFor("the processes to join", () => out.includes("ready") && cgroupPids(cg).length >= 3);
    const pids = cgroupPids(cg);
    await killTryCgroup(cg);
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once("exit", r)));
    expect(pids.filter(alive)).toEqual([]);
    expect(await removeTryCgroup(cg)).toBe(true);
    expect(existsSync(cg.dirs.memory as string)).toBe(false);
  });

  it.skipIf(hasMemory)("fails with a CgroupError for a limit whose controller is missing, leaving nothing behind", () => {
    expect(() => createTryCgroup({ version: 2, mount: unified as string }, "airlock-test", "limited", { memoryBytes: 64 << 20 })).toThrow(CgroupError);
    expect(existsSync(path.join(unified as string, "airlock-test", "limited"))).toBe(false);
  });

  afterAll(() => {
    try {
      rmdirSync(path.join(unified as string, "airlock-test"));
    } catch {
      // not created
    }
  });
});
