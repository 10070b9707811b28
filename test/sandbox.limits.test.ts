/**
 * Cgroup limits of the sandbox backend with real cgroups: a task over its memory limit is killed and reported
 * as "memory limit exceeded (N MiB)", a fork bomb is held by the pids limit, a kill (timeout) ends everything in
 * the sandbox, cgroups are removed afterwards, and a try survives an orchestrator restart and is adopted. Every test
 * runs with a cold launch and with a warm one (a sandbox and its cgroup made before the try), which must limit the same.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandboxBackend, type SandboxHandle } from "../src/backends/sandbox/index.js";
import { cgroupPids, type TryCgroup } from "../src/backends/sandbox/cgroups.js";
import type { Backend } from "../src/backends/types.js";
import { decide } from "../src/executor/outcome.js";
import { WARM_LAUNCH_DEFAULTS } from "../src/config/warm-launch.js";
import { alive, bashTry, ensureBubblewrap, LAUNCH_MODES, makeProject, readTry, ROOT, runTry, TSX, waitFor, type TestProject, startSandbox, type SandboxFixture } from "./helpers/sandbox.js";

let project: TestProject;

beforeAll(async () => {
  ensureBubblewrap();
  project = await makeProject("airlock-limits-");
});

afterAll(async () => {
  project?.cleanup();
});

const cgroupOf = (handle: unknown) => (handle as SandboxHandle).cgroup as TryCgroup;
const cgroupGone = (cg: TryCgroup) => Object.values(cg.dirs).every((d) => !existsSync(d));
const controllerFile = (cg: TryCgroup, controller: keyof TryCgroup["dirs"], v1: string, v2: string) =>
  readFileSync(path.join(cg.dirs[controller] as string, cg.version === 1 ? v1 : v2), "utf8").trim();

describe.each(LAUNCH_MODES)("sandbox limits (%s launch)", (mode) => {
  let sandbox: SandboxFixture;
  let backend: Backend;
  beforeAll(async () => {
    sandbox = await startSandbox(project, { warm: mode === "warm" });
    backend = sandbox.backend;
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  // Says why a warm launch went cold (the pool's counters, and what the pool wrote on stderr is in the test's output).
  const launchedAsAsked = () => expect(sandbox.lastLaunchWarm, `warm pool: ${JSON.stringify(sandbox.pool?.stats ?? null)}`).toBe(mode === "warm");

  it("kills a task over its memory limit and reports memory limit exceeded (64 MiB)", async () => {
    const request = bashTry(project, "oom", `node -e 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))'`, { resources: { memory: "64Mi" } });
    const running = await backend.launch(request);
    launchedAsAsked();
    const cg = cgroupOf(running.handle);
    expect(Number(controllerFile(cg, "memory", "memory.limit_in_bytes", "memory.max"))).toBe(64 * 1024 * 1024);
    const out = readTry(request, await running.exited);
    expect(out.exit.oomKilled).toBe(true);
    expect(out.exit.detail).toBe("memory limit exceeded (64 MiB)");
    // The supervisor's verdict carries the message users see.
    const verdict = decide({ events: out.events, exit: out.exit, scratchDir: request.scratchDir, killedFor: null, memoryLimitMiB: 64 });
    expect(verdict).toMatchObject({ kind: "failed", error: { type: "MemoryLimitExceeded", message: expect.stringContaining("memory limit exceeded (64 MiB)") } });
    expect(cgroupGone(cg)).toBe(true);
  });

  it("does not report OOM for a task that stays under its limit", async () => {
    const request = bashTry(project, "fits", `node -e 'globalThis.keep = Buffer.alloc(8 << 20, 1); console.log("fine")'`, { resources: { memory: "256Mi" } });
    const out = await runTry(backend, request);
    launchedAsAsked();
    expect(out.exit).toMatchObject({ code: 0 });
    expect(out.exit.oomKilled).toBeFalsy();
    expect(out.result).toBe("fine");
  });

  it("holds a fork bomb at its pids limit, and a kill ends every process of the sandbox", async () => {
    const request = bashTry(project, "forkbomb", "bomb() { bomb | bomb & }; bomb; sleep 600", { resources: { pids: 40 } });
    const running = await backend.launch(request);
    launchedAsAsked();
    const cg = cgroupOf(running.handle);
    expect(controllerFile(cg, "pids", "pids.max", "pids.max")).toBe("40");
    // The bomb reaches its ceiling and stays there: forks fail instead of eating the machine.
    await waitFor("the pids limit to be hit", () => Number(/max (\d+)/.exec(readFileSync(path.join(cg.dirs.pids as string, "pids.events"), "utf8"))?.[1] ?? 0) > 0);
    const current = Number(readFileSync(path.join(cg.dirs.pids as string, "pids.current"), "utf8"));
    expect(current).toBeLessThanOrEqual(40);
    const pids = cgroupPids(cg);
    expect(pids.length).toBeGreaterThan(5);
    await running.kill("execution timeout (test)");
    const exit = await running.exited;
    expect(exit.code === 0).toBe(false);
    expect(pids.filter(alive)).toEqual([]);
    expect(cgroupGone(cg)).toBe(true);
  });

  it("kills background and re-parented processes on a timeout, and applies the CPU limit", async () => {
    const request = bashTry(project, "timeout", "sleep 600 & setsid sleep 600 & (trap '' TERM; sleep 600) & echo started; wait", { resources: { cpu: 0.5 } });
    const running = await backend.launch(request);
    launchedAsAsked();
    const cg = cgroupOf(running.handle);
    expect(controllerFile(cg, "cpu", "cpu.cfs_quota_us", "cpu.max").split(" ")[0]).toBe("50000");
    await waitFor("the task to start its sleepers", () => readFileSync(request.rawLogPath, "utf8").includes("started") && cgroupPids(cg).length >= 5);
    const pids = cgroupPids(cg);
    await running.kill("execution timeout after 1s");
    await running.exited;
    expect(pids.filter(alive)).toEqual([]);
    expect(cgroupGone(cg)).toBe(true);
  });

  it("leaves a try running when the orchestrator dies, and adopts, kills and cleans it up after a restart", async () => {
    const request = bashTry(project, "adopt", "sleep 600 & echo started; wait");
    const requestFile = path.join(project.dir, "adopt-request.json");
    writeFileSync(requestFile, JSON.stringify(request));
    const child = spawn(process.execPath, [...TSX, path.join(ROOT, "test", "helpers", "sandbox-launch-child.ts"), requestFile, sandbox.distDir, project.dir, mode], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    await new Promise((resolve) => child.once("exit", resolve));
    const { handle, spare } = JSON.parse(stdout.trim()) as { handle: SandboxHandle; spare: number[] };
    expect(handle.warm === true).toBe(mode === "warm");
    const cg = handle.cgroup as TryCgroup;
    await waitFor("the try to start", () => readFileSync(request.rawLogPath, "utf8").includes("started"));
    const pids = cgroupPids(cg);
    expect(pids.filter(alive).length).toBeGreaterThan(0);
    // The spare warm sandboxes held nothing of a try: they end with their orchestrator, the try does not.
    if (mode === "warm") expect(spare.length).toBeGreaterThan(0);
    await waitFor("the spare warm sandboxes to end", () => spare.filter(alive).length === 0);
    expect(pids.filter(alive).length).toBeGreaterThan(0);

    const warmRoot = path.join(project.config.stateDir, "warm", "sandbox");
    const left = existsSync(warmRoot) ? readdirSync(warmRoot, { recursive: true }).map(String)
      .filter((f) => f.startsWith(`${child.pid}-`) && f.endsWith("cgroup.json")) : [];
    const spareCgroups = left.map((f) => JSON.parse(readFileSync(path.join(warmRoot, f), "utf8")) as TryCgroup);
    expect(spareCgroups.length).toBe(mode === "warm" ? spare.length : 0);
    const restarted = createSandboxBackend(project.config, { distDir: sandbox.distDir, warm: mode === "warm" ? WARM_LAUNCH_DEFAULTS : null });
    const adopted = await restarted.adopt(handle, request);
    expect(adopted).not.toBeNull();
    await adopted?.kill("killed after adoption");
    await adopted?.exited;
    expect(pids.filter(alive)).toEqual([]);
    expect(cgroupGone(cg)).toBe(true);
    // A try that is gone is not adopted, and its cgroup (if any was left) is removed.
    expect(await restarted.adopt(handle, request)).toBeNull();
    // What the crashed orchestrator's spare sandboxes left (folders, cgroups) went when the next one started.
    await waitFor("stale warm cgroups to be removed", () => spareCgroups.every(cgroupGone));
    expect(existsSync(warmRoot) ? readdirSync(warmRoot).filter((d) => d.startsWith(`${child.pid}-`)) : []).toEqual([]);
    await restarted.close();
  });

  it("refuses to touch a cgroup outside its own parent when adopting a forged handle", async () => {
    const forged = { backend: "sandbox", pid: 1, pgid: 1, startTime: 0, cgroup: { version: 1, dirs: { memory: "/sys/fs/cgroup/memory" }, memoryBytes: null } } as unknown as SandboxHandle;
    const request = bashTry(project, "forged", "true");
    expect(await backend.adopt(forged, request)).toBeNull();
    expect(existsSync("/sys/fs/cgroup/memory")).toBe(true);
    expect(alive(1)).toBe(true);
  });
});
