/**
 * `reuse: true` on the sandbox backend, end to end through the CLI: tries of one key run one after another in one
 * long-lived bubblewrap sandbox (shared module state), each with a scratch folder of its own that the next try never
 * finds, and with every wall of a fresh sandbox try: no store, config or local port, no orchestrator environment,
 * uid nobody, the seccomp filter, no sight of other runners' folders. A timed-out or out-of-memory try takes its
 * sandbox with it and the retry gets a fresh one; another environment, another network setting and a task that says
 * `reuse: false` never share a sandbox. `tasks states` and `tasks tries` record the tries as reused.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, waitUntil, type Project, type Standalone } from "./helpers/project.js";
import { alive, ensureBubblewrap } from "./helpers/sandbox.js";
import { launchBrowser } from "./helpers/browser.js";

const CANARY = "sbx-reuse-canary-51c7";

/** A task's view of its sandbox; every try leaves traces for the next one to look for. */
function dagSource(project: Project, port: number): string {
  const runners = path.join(project.stateDir, "reuse", "sandbox");
  return `import { dag, fn, bash, chain } from "airlock";
const boot = Math.random().toString(36).slice(2);
const seen = { n: 0 };
const probe = async (ctx) => {
  const fs = await import("node:fs");
  const net = await import("node:net");
  const path = await import("node:path");
  const attempt = (f) => { try { return { ok: true, value: f() }; } catch (e) { return { ok: false, code: e.code ?? e.message }; } };
  const connect = () => new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port: ${port} });
    const done = (r) => { s.destroy(); resolve(r); };
    s.once("connect", () => s.once("data", (d) => done({ ok: true, value: d.toString() })));
    s.once("error", (e) => done({ ok: false, code: e.code }));
    setTimeout(() => done({ ok: false, code: "TIMEOUT" }), 3000);
  });
  const home = process.env.HOME;
  const found = {
    boot, n: ++seen.n, home, cwd: process.cwd(), tmpdir: process.env.TMPDIR, scratchDir: ctx.scratchDir,
    homeFiles: fs.readdirSync(home),
    scratchRoot: fs.readdirSync(path.dirname(home)),
    tmpLeft: fs.readdirSync("/tmp").filter((n) => n.startsWith("left-")),
    runners: attempt(() => fs.readdirSync(${JSON.stringify(runners)})),
    store: attempt(() => fs.readFileSync(${JSON.stringify(project.dbPath)}, "utf8").length),
    config: attempt(() => fs.readFileSync(${JSON.stringify(path.join(project.dir, "airlock.config.json"))}, "utf8")),
    port: await connect(),
    env: Object.keys(process.env).sort(),
    canary: Object.values(process.env).some((v) => String(v).includes(${JSON.stringify(CANARY)})),
    rootWrite: attempt(() => fs.writeFileSync("/evil.txt", "x")),
    uid: process.getuid(),
    hostname: (await import("node:os")).hostname(),
  };
  // Traces: in HOME, beside HOME (the runner's scratch root), in /tmp, in the process environment.
  fs.writeFileSync(home + "/mine.txt", ctx.taskId);
  fs.writeFileSync(path.dirname(home) + "/left-" + ctx.taskId, "x");
  fs.writeFileSync("/tmp/left-" + ctx.taskId, "x");
  process.env.LEFT_BY = ctx.taskId;
  return found;
};
const sbx = { backend: "sandbox" };
export default dag({ id: "sreuse", defaultArgs: { retryDelay: "0s" } }, () => {
  const p1 = fn({ id: "p1", environment: "sa", ...sbx, run: probe });
  const p2 = fn({ id: "p2", environment: "sa", ...sbx, run: async (ctx) => {
    const leftBy = process.env.LEFT_BY ?? null;
    return { ...(await probe(ctx)), leftBy };
  } });
  const p3 = fn({ id: "p3", environment: "sa", ...sbx, run: probe });
  const filter = bash({ id: "filter", environment: "sa", ...sbx, command: 'unshare -U true 2>/dev/null; echo "unshare-U $?"' });
  const slow = fn({ id: "slow", environment: "sa", ...sbx, retries: 1, executionTimeout: "3s", run: async (ctx) => {
    if (ctx.tryNumber === 1) { console.log("slow hangs in " + boot); await new Promise(() => setInterval(() => {}, 1000)); }
    return { boot, n: ++seen.n };
  } });
  const after = fn({ id: "after", environment: "sa", ...sbx, run: async () => ({ boot, n: ++seen.n }) });
  // Runs while the sandbox of environment sa is alive (idle or busy): its folder must stay out of sight.
  const q1 = fn({ id: "q1", environment: "sb", ...sbx, run: probe });
  // A result too big to travel inline goes by reference through the try's scratch folder; the next try reads it.
  const big = fn({ id: "big", environment: "sa", ...sbx, run: async () => "x".repeat(3_000_000) });
  const pull = fn({ id: "pull", environment: "sa", ...sbx, run: async (ctx) => ({ boot, len: String(await ctx.xcom.pull("big")).length }) });
  chain(p1, p2, p3, filter, slow, after, big, pull);
  p1.then(q1);
  p1.then(fn({ id: "hostnet", environment: "sa", ...sbx, network: "host", run: probe }));
  p1.then(fn({ id: "own", environment: "sa", ...sbx, reuse: false, run: probe }));
});
`;
}

/** Out of memory in a reused sandbox: the first try is killed with its sandbox, the retry gets a fresh one. */
const OOM_DAG = `import { dag, fn, chain } from "airlock";
const boot = Math.random().toString(36).slice(2);
export default dag({ id: "sreuse_oom", defaultArgs: { retryDelay: "0s" } }, () => {
  const warm = fn({ id: "warm", environment: "sa", backend: "sandbox", resources: { memory: "96Mi" }, run: async () => boot });
  const hog = fn({ id: "hog", environment: "sa", backend: "sandbox", resources: { memory: "96Mi" }, retries: 1, run: async (ctx) => {
    if (ctx.tryNumber === 1) { console.log("hog grows in " + boot); const keep = []; for (;;) keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); }
    return boot;
  } });
  chain(warm, hog);
});
`;

/** A reused try that hangs until its orchestrator is killed. */
const CRASH_DAG = `import { dag, fn } from "airlock";
const boot = Math.random().toString(36).slice(2);
export default dag({ id: "sreuse_crash" }, () => {
  fn({ id: "hang", environment: "sa", backend: "sandbox", run: async () => {
    console.log("hangs in " + boot);
    await new Promise(() => setInterval(() => {}, 1000));
  } });
});
`;

interface Attempt { ok: boolean; value?: unknown; code?: string }
interface Probe {
  boot: string; n: number; home: string; cwd: string; tmpdir: string; scratchDir: string; homeFiles: string[]; scratchRoot: string[];
  tmpLeft: string[]; runners: Attempt; store: Attempt; config: Attempt; port: Attempt; env: string[]; canary: boolean;
  rootWrite: Attempt; uid: number; hostname: string; leftBy?: string | null;
}
interface Summary { runId: string; state: string; tasks: Array<{ taskId: string; state: string; tryNumber: number; isolation: string; reused: boolean; reused?: true; xcom: unknown }> }

let project: Project;
let server: Server;
beforeAll(async () => {
  ensureBubblewrap();
  server = createServer((socket) => socket.end("orchestrator-says-hello"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  project = createProject({ env: { AIRLOCK_CANARY: CANARY, AIRLOCK__API__TOKEN: CANARY } });
  project.writeDag("sreuse.ts", dagSource(project, (server.address() as { port: number }).port));
  project.writeDag("sreuse_oom.ts", OOM_DAG);
  for (const name of ["sa", "sb"]) {
    project.writeFile(`environments/${name}/package.json`, JSON.stringify({ name, version: "1.0.0", private: true }));
    project.writeFile(`environments/${name}/environment.yaml`, "reuse: true\n");
  }
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await project?.cleanup();
});

describe("reuse: true on the sandbox backend", () => {
  let summary: Summary;
  const task = (id: string) => summary.tasks.find((t) => t.taskId === id);
  const probe = (id: string) => task(id)?.xcom as Probe;

  beforeAll(async () => {
    const r = await project.cliJson(["dags", "test", "sreuse", "--json"], { timeoutMs: 300_000 });
    summary = r.json;
  }, 360_000);

  it("runs the tries of one key in one sandbox, one after another, each in a scratch folder of its own", () => {
    expect(summary.state, JSON.stringify(summary)).toBe("success");
    const chainTries = [probe("p1"), probe("p2"), probe("p3")];
    // The chain's tries share a sandbox (module state lives on), whichever idle one each took.
    expect(new Set(chainTries.map((t) => t.boot)).size).toBeLessThan(chainTries.length);
    expect(Math.max(...chainTries.map((t) => t.n))).toBeGreaterThan(1);
    for (const t of chainTries) {
      expect(new Set([t.home, t.tmpdir, t.cwd, t.scratchDir]).size).toBe(1);
      // Nothing of an earlier try: its HOME files, what it left beside HOME or in /tmp.
      expect(t.homeFiles).toEqual([]);
      expect(t.scratchRoot).toEqual([path.basename(t.home)]);
      expect(t.tmpLeft).toEqual([]);
    }
    expect(new Set(chainTries.map((t) => t.home)).size).toBe(3);
    // What is shared is the process: its environment changes live on (the documented trade-off).
    const p2 = probe("p2");
    if (p2.boot === probe("p1").boot) expect(p2.leftBy).toBe("p1");
  });

  it("keeps every wall of a fresh sandbox: no store, config, local port or orchestrator env; nobody; read-only root", () => {
    for (const id of ["p1", "p2", "p3", "q1"]) {
      const p = probe(id);
      expect(p.store).toMatchObject({ ok: false, code: "ENOENT" });
      expect(p.config).toMatchObject({ ok: false, code: "ENOENT" });
      expect(p.port.ok).toBe(false);
      expect(p.canary).toBe(false);
      expect(p.env.filter((k) => k.startsWith("AIRLOCK"))).toEqual([]);
      expect(p.rootWrite.ok).toBe(false);
      expect(p.uid).toBe(65534);
      expect(p.hostname).toBe("airlock-sandbox");
    }
    // The positive control: the same probe reaches the port when the network is granted (its own sandbox).
    expect(probe("hostnet").port).toEqual({ ok: true, value: "orchestrator-says-hello" });
    expect(probe("hostnet").boot).not.toBe(probe("p1").boot);
  });

  it("returns a large result by reference from the try's scratch folder, and the next try reads it as XCom", () => {
    expect(task("big")).toMatchObject({ state: "success", reused: true });
    expect(task("pull")?.xcom).toMatchObject({ len: 3_000_000 });
  });

  it("keeps the seccomp filter: a new user namespace is refused", () => {
    expect(task("filter")?.state).toBe("success");
    expect(task("filter")?.xcom).toBe("unshare-U 1");
  });

  it("shows a try only its own runner's folder, never another runner's", () => {
    // q1 runs in environment sb while the sandbox of sa exists (p1 ran in it first).
    const q1 = probe("q1");
    expect(q1.boot).not.toBe(probe("p1").boot);
    expect(q1.runners.ok).toBe(true);
    expect(q1.runners.value as string[]).toHaveLength(1);
    expect(q1.home.split(path.sep)).toContain((q1.runners.value as string[])[0]);
  });

  it("never shares a sandbox across environments, network settings, or with a task that says reuse: false", () => {
    const a = probe("p1").boot;
    expect(probe("q1").boot).not.toBe(a);
    expect(probe("hostnet").boot).not.toBe(a);
    expect(probe("own").boot).not.toBe(a);
    expect(probe("own").n).toBe(1);
  });

  it("kills the sandbox of a timed-out try and gives the retry a fresh one", async () => {
    expect(task("slow")?.tryNumber).toBe(2);
    const log = await project.cli(["tasks", "logs", "sreuse", summary.runId, "slow", "--try", "1"]);
    const hung = /slow hangs in (\w+)/.exec(log.stdout)?.[1];
    expect(hung).toBeTruthy();
    expect(log.stdout).toContain("execution timeout of 3 s exceeded");
    expect(log.stdout).toContain("isolation: sandbox (reused)");
    const pid = Number(/runner pid (\d+)/.exec(log.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    const retry = task("slow")?.xcom as { boot: string };
    expect(retry.boot).not.toBe(hung);
  });

  it("records the tries as reused: tasks states (text and --json) and tasks tries", async () => {
    expect(task("p1")).toMatchObject({ isolation: "sandbox", reused: true });
    // The fixed summary shape gains `reused` only where a try was reused.
    expect(task("own")?.isolation).toBe("sandbox");
    expect(task("own")).not.toHaveProperty("reused");
    const states = await project.cliJson<Summary>(["tasks", "states", "sreuse", summary.runId, "--json"]);
    expect(states.json.tasks.find((t) => t.taskId === "p2")).toMatchObject({ isolation: "sandbox", reused: true });
    expect(states.json.tasks.find((t) => t.taskId === "own")).not.toHaveProperty("reused");
    const text = await project.cli(["tasks", "states", "sreuse", summary.runId]);
    expect(text.stdout).toMatch(/p3\s+success\s+1\s+sandbox \(reused\)/);
    expect(text.stdout).toMatch(/own\s+success\s+1\s+sandbox\s*$/m);
    const tries = await project.cliJson(["tasks", "tries", "sreuse", summary.runId, "p3", "--json"]);
    expect(tries.json.tries[0]).toMatchObject({ isolation: "sandbox", reused: true });
  });

  it("says sandbox (reused) in the web UI's try details, and plain sandbox for a try of its own", async () => {
    const server = await project.startStandalone();
    const browser = await launchBrowser();
    try {
      const { page } = browser;
      const open = async (taskId: string) => {
        await page.goto(`${server.url}/dags/sreuse?run=${encodeURIComponent(summary.runId)}&task=${taskId}&token=${CANARY}`);
        await page.waitForSelector('[data-testid=task-panel] [data-testid=isolation]:has-text("sandbox")');
        return page.textContent("[data-testid=task-panel] [data-testid=isolation]");
      };
      expect(await open("p1")).toBe("sandbox (reused)");
      expect(await open("own")).toBe("sandbox");
      // The API's task instances carry it too (what the UI and `tasks states` against a server read).
      const res = await fetch(`${server.url}/api/v1/dags/sreuse/runs/${encodeURIComponent(summary.runId)}/tasks`, { headers: { authorization: `Bearer ${CANARY}` } });
      const { taskInstances } = (await res.json()) as { taskInstances: Array<{ taskId: string; isolation: string; reused: boolean }> };
      expect(taskInstances.find((t) => t.taskId === "p1")).toMatchObject({ isolation: "sandbox", reused: true });
      expect(taskInstances.find((t) => t.taskId === "own")).toMatchObject({ isolation: "sandbox", reused: false });
    } finally {
      await browser.close();
      await server.stop();
    }
  }, 180_000);

  it("leaves no sandbox, runner folder or try scratch behind when the orchestrator ends", () => {
    const root = path.join(project.stateDir, "reuse", "sandbox");
    expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
  });
});

describe("a reused sandbox over its memory limit", () => {
  it("is killed with its try, and the retry runs in a fresh one", async () => {
    const r = await project.cliJson<Summary>(["dags", "test", "sreuse_oom", "--json"], { timeoutMs: 240_000 });
    expect(r.json.state, JSON.stringify(r.json)).toBe("success");
    const hog = r.json.tasks.find((t) => t.taskId === "hog");
    expect(hog).toMatchObject({ tryNumber: 2, isolation: "sandbox", reused: true });
    const log = await project.cli(["tasks", "logs", "sreuse_oom", r.json.runId, "hog", "--try", "1"]);
    expect(log.stdout).toContain("memory limit exceeded");
    const grew = /hog grows in (\w+)/.exec(log.stdout)?.[1];
    expect(grew).toBe(r.json.tasks.find((t) => t.taskId === "warm")?.xcom);
    expect(hog?.xcom).not.toBe(grew);
  }, 300_000);
});

describe("a reused sandbox whose orchestrator dies", () => {
  it("ends with it; the next orchestrator removes its folder and cgroup and fails the try as lost", async () => {
    project.writeDag("sreuse_crash.ts", CRASH_DAG);
    const root = path.join(project.stateDir, "reuse", "sandbox");
    const first = await project.startStandalone();
    let second: Standalone | null = null;
    try {
      const runId = (await project.cliJson<{ runId: string }>(["dags", "trigger", "sreuse_crash", "--json"])).json.runId;
      const log = await waitUntil("the reused try to hang", async () => {
        const l = await project.cli(["tasks", "logs", "sreuse_crash", runId, "hang"]);
        return /hangs in \w+/.test(l.stdout) ? l.stdout : null;
      }, 180_000, 500);
      expect(log).toContain("isolation: sandbox (reused)");
      const pid = Number(/runner pid (\d+)/.exec(log)?.[1]);
      expect(alive(pid)).toBe(true);
      const dirs = readdirSync(root);
      expect(dirs).toHaveLength(1);
      const cgroup = JSON.parse(readFileSync(path.join(root, dirs[0] as string, "cgroup.json"), "utf8")) as { dirs: Record<string, string> };
      const cgroupDirs = Object.values(cgroup.dirs);
      expect(cgroupDirs.length).toBeGreaterThan(0);
      expect(cgroupDirs.every((d) => existsSync(d))).toBe(true);

      await first.kill9();
      // Its stdin closed: the runner exits, and the sandbox with it.
      await waitUntil("the reused sandbox to end with its orchestrator", () => !alive(pid), 60_000);
      second = await project.startStandalone();
      await waitUntil("the dead orchestrator's runner folder to be removed", () => !existsSync(path.join(root, dirs[0] as string)), 90_000, 200);
      await waitUntil("its cgroup to be removed", () => cgroupDirs.every((d) => !existsSync(d)), 30_000, 200);
      const states = await waitUntil("the try to be failed as lost", async () => {
        const r = await project.cliJson<Summary>(["tasks", "states", "sreuse_crash", runId, "--json"]);
        return r.json.tasks[0]?.state === "failed" ? r.json : null;
      }, 90_000, 500);
      expect(states.tasks[0]).toMatchObject({ isolation: "sandbox", reused: true, tryNumber: 1 });
    } finally {
      await second?.stop();
      await first.stop();
    }
  }, 420_000);
});
