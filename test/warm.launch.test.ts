/**
 * Warm launch (executor.warmLaunch) on the process and sandbox backends: a runner started before its try serves
 * exactly one try, holds nothing of one try that the next could see (environment, secrets, files), and never
 * outlives its use: unused runners end after idleMs, when the backend closes, and when the orchestrator is killed.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcessBackend } from "../src/backends/process/index.js";
import { createSandboxBackend } from "../src/backends/sandbox/index.js";
import type { Backend, LaunchRequest } from "../src/backends/types.js";
import type { WarmPool } from "../src/backends/warm/pool.js";
import { WARM_LAUNCH_DEFAULTS, type WarmLaunchSettings } from "../src/config/warm-launch.js";
import { bundleRunner } from "./helpers/docker-runner.js";
import { alive, ensureBubblewrap, fnTry, makeProject, readTry, ROOT, runTry, TSX, waitFor, type TestProject } from "./helpers/sandbox.js";

const SECRET = "warm-secret-5c1e77a0";

type WarmBackend = Backend & { warmPool: WarmPool | null; prewarm(r: LaunchRequest): void };

let project: TestProject;
let dist: { distDir: string; cleanup: () => void };

beforeAll(async () => {
  ensureBubblewrap();
  project = await makeProject("airlock-warm-");
  dist = await bundleRunner();
});

afterAll(() => {
  dist?.cleanup();
  project?.cleanup();
});

const backends: Record<"process" | "sandbox", (s: WarmLaunchSettings) => WarmBackend> = {
  process: (settings) => createProcessBackend({ warm: { settings, stateDir: project.config.stateDir } }),
  sandbox: (settings) => createSandboxBackend(project.config, { distDir: dist.distDir, warm: settings }),
};

/** Waits until the pool has `n` runners waiting. */
const waiting = (pool: WarmPool | null, n: number) => waitFor(`${n} warm runners`, () => (pool?.size ?? 0) >= n);

describe.each(["process", "sandbox"] as const)("warm launch on %s", (name) => {
  let backend: WarmBackend;
  beforeAll(() => {
    backend = backends[name]({ ...WARM_LAUNCH_DEFAULTS, perEnvironment: 2 });
  });
  afterAll(async () => {
    await backend?.close();
  });

  it("hands each waiting runner exactly one try, which it ends with", async () => {
    const first = fnTry(project, `one_${name}`, { body: "return process.pid;" });
    backend.prewarm(first);
    await waiting(backend.warmPool, 2);
    const before = backend.warmPool?.pids() ?? [];
    const pids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const request = fnTry(project, `one_${name}_${i}`, { body: "return 1;" });
      const running = await backend.launch(request);
      expect(running.handle.warm).toBe(true);
      pids.push(running.handle.pid as number);
      const exit = await running.exited;
      expect(exit.code).toBe(0);
      // The runner that served the try is gone with it: it never waits for a second payload.
      expect(alive(running.handle.pid as number)).toBe(false);
      await new Promise((r) => setImmediate(r));
    }
    expect(new Set(pids).size).toBe(3);
    expect(before).toContain(pids[0]);
    expect(backend.warmPool?.stats.handedOver).toBeGreaterThanOrEqual(3);
  });

  it("shows a try nothing of the try before it: no environment, secret, file or process", async () => {
    const a = fnTry(project, `secret_a_${name}`, { body: `
      const fs = await import("node:fs");
      process.env.STOLEN = ctx.variables.get("token");
      fs.writeFileSync(process.env.HOME + "/left-behind.txt", ctx.variables.get("token"));
      (await import("node:child_process")).spawn("sleep", ["30"], { detached: true, stdio: "ignore", env: { ...process.env } }).unref();
      return process.env.HOME;` });
    a.payload.grants.variables = { token: SECRET };
    backend.prewarm(a);
    await waiting(backend.warmPool, 2);
    const outA = await runTry(backend, a);
    expect(outA.error).toBeNull();
    const b = fnTry(project, `secret_b_${name}`, { body: `
      const fs = await import("node:fs");
      let granted;
      try { granted = ctx.variables.get("token"); } catch (e) { granted = e.name; }
      const procs = fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).map((p) => { try { return fs.readFileSync("/proc/" + p + "/environ", "latin1") + fs.readFileSync("/proc/" + p + "/cmdline", "latin1"); } catch { return ""; } });
      return { env: JSON.stringify(process.env), granted, home: fs.readdirSync(process.env.HOME), seen: procs.length,
        carrying: procs.filter((p) => p.includes(${JSON.stringify(SECRET)})).length };` });
    const running = await backend.launch(b);
    expect(running.handle.warm).toBe(true);
    const outB = readTry(b, await running.exited);
    const r = outB.result as { env: string; granted: string; home: string[]; seen: number; carrying: number };
    expect(outB.error).toBeNull();
    expect(r.env).not.toContain(SECRET);
    expect(r.granted).toBe("NotGrantedError");
    expect(r.home).not.toContain("left-behind.txt");
    // A's background process died with A: no process B can see carries A's secret.
    expect(r.carrying).toBe(0);
    expect(r.seen).toBeGreaterThan(0);
  });

  it("ends unused runners after idleMs, and all of them when the backend closes", async () => {
    const idle = backends[name]({ ...WARM_LAUNCH_DEFAULTS, perEnvironment: 2, idleMs: 400 });
    const request = fnTry(project, `idle_${name}`, { body: "return 1;" });
    idle.prewarm(request);
    await waiting(idle.warmPool, 2);
    const pids = idle.warmPool?.pids() ?? [];
    expect(pids.filter(alive).length).toBe(2);
    await waitFor("idle runners to be ended", () => pids.filter(alive).length === 0 && idle.warmPool?.size === 0, 10_000);
    expect(idle.warmPool?.stats.reaped).toBe(2);

    idle.prewarm(request);
    await waiting(idle.warmPool, 2);
    const more = idle.warmPool?.pids() ?? [];
    await idle.close();
    expect(more.filter(alive)).toEqual([]);
    const root = path.join(project.config.stateDir, "warm", name, `${process.pid}-`);
    expect(readdirSync(path.dirname(root)).filter((d) => d.startsWith(path.basename(root)))).toEqual([]);
  });
});

describe("warm runners for tries launched together", () => {
  it("keeps one more runner waiting for each launch that found none, up to maxProcesses", async () => {
    const b = createProcessBackend({ warm: { settings: { ...WARM_LAUNCH_DEFAULTS, perEnvironment: 1, maxProcesses: 4 }, stateDir: project.config.stateDir } });
    try {
      const first = fnTry(project, "together_0", { body: "return 1;" });
      b.prewarm(first);
      await waiting(b.warmPool, 1);
      // Four tries at once: one finds the waiting runner, three find none.
      const tries = [0, 1, 2, 3].map((i) => fnTry(project, `together_${i}`, { body: "return 1;" }));
      const running = await Promise.all(tries.map((t) => b.launch(t)));
      expect(running.filter((r) => r.handle.warm === true).length).toBeGreaterThanOrEqual(1);
      for (const r of running) expect((await r.exited).code).toBe(0);
      expect(b.warmPool?.stats.misses).toBeGreaterThanOrEqual(3);
      // The pool now keeps four waiting (1 + 3 misses, the maxProcesses bound), not perEnvironment's one.
      await waiting(b.warmPool, 4);
      await new Promise((r) => setTimeout(r, 200));
      expect(b.warmPool?.size).toBe(4);
    } finally {
      await b.close();
    }
  });
});

describe("warm runners and a killed orchestrator", () => {
  it("end with it (kill -9): their stdin closes and nothing is left", async () => {
    const script = `
      import { createProcessBackend } from ${JSON.stringify(path.join(ROOT, "src/backends/process/index.ts"))};
      import { WARM_LAUNCH_DEFAULTS } from ${JSON.stringify(path.join(ROOT, "src/config/warm-launch.ts"))};
      import { launchRequest, serializedTask } from ${JSON.stringify(path.join(ROOT, "test/helpers/docker-runner.ts"))};
      const b = createProcessBackend({ warm: { settings: { ...WARM_LAUNCH_DEFAULTS, perEnvironment: 3 }, stateDir: ${JSON.stringify(project.config.stateDir)} } });
      b.prewarm(launchRequest(${JSON.stringify(path.join(project.config.stateDir, "tries"))}, { dagId: "killed", task: serializedTask("t", "bash", { command: "true" }) }));
      await new Promise((r) => setTimeout(r, 300));
      const fs = await import("node:fs");
      // Their cgroup folders ("N:controllers:/path" in /proc/<pid>/cgroup), those found on this machine.
      const cgroups = b.warmPool.pids().flatMap((pid) => fs.readFileSync("/proc/" + pid + "/cgroup", "utf8").split("\\n"))
        .filter((l) => l.includes("/airlock-process/warm."))
        .flatMap((l) => { const [, c, rel] = l.split(":"); return [c === "" ? "/sys/fs/cgroup" + rel : "/sys/fs/cgroup/" + c + rel]; })
        .filter((d) => fs.existsSync(d));
      process.stdout.write(JSON.stringify({ pids: b.warmPool.pids(), cgroups }) + "\\n");
      process.kill(process.pid, "SIGKILL");`;
    const child = spawn(process.execPath, [...TSX, "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const signal = await new Promise((r) => child.once("exit", (_c, s) => r(s)));
    expect(signal).toBe("SIGKILL");
    const { pids, cgroups } = JSON.parse(out.trim()) as { pids: number[]; cgroups: string[] };
    expect(pids.length).toBe(3);
    await waitFor("the killed orchestrator's warm runners to end", () => pids.filter(alive).length === 0, 10_000);
    // Their folders go when the next pool of the project starts.
    const next = createProcessBackend({ warm: { settings: WARM_LAUNCH_DEFAULTS, stateDir: project.config.stateDir } });
    const owners = path.join(project.config.stateDir, "warm", "process");
    expect(existsSync(owners) ? readdirSync(owners).filter((d) => d.startsWith(`${child.pid}-`)) : []).toEqual([]);
    // And their cgroups (where this machine gives the process backend cgroups).
    await waitFor("the killed orchestrator's warm cgroups to be removed", () => cgroups.every((d) => !existsSync(d)), 10_000);
    await next.close();
  });
});
