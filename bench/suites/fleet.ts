/**
 * Fleet figures (issue 9): (a) `airlock dags trigger --wait` of a one-task DAG from the CLI against a running
 * standalone, compared with the same CLI's start-up (`dags trigger` without --wait); (b) fairness: how long a
 * 3-task chain triggered while a 2,000-task DAG runs takes from trigger to success.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { nodeStartMs, percentile, removeProject, ROOT, tempProject, type BenchRow } from "../lib.js";

const BIN = path.join(ROOT, "bin", "airlock.js");
const dist = (p: string) => pathToFileURL(path.join(ROOT, "dist", p)).href;

const ONE = `import { bash, dag } from "airlock";
export default dag({ id: "one" }, () => { bash({ id: "hello", command: "echo hello" }); });`;
const WIDE = `import { bash, dag } from "airlock";
export default dag({ id: "wide" }, () => { for (let i = 0; i < 2000; i++) bash({ id: "t" + i, command: "sleep 0.5" }); });`;
const SMALL = `import { bash, chain, dag } from "airlock";
export default dag({ id: "small" }, () => { chain(bash({ id: "a", command: "echo a" }), bash({ id: "b", command: "echo b" }), bash({ id: "c", command: "echo c" })); });`;

function cliMs(dir: string, args: string[]): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`airlock ${args.join(" ")} exited with ${code}`))));
  });
}

async function startStandalone(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, "standalone", "--port", "0"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`standalone did not start:\n${out}`)), 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (/web UI and API: http/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", () => reject(new Error(`standalone exited:\n${out}`)));
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

async function triggerLatency(): Promise<BenchRow[]> {
  const dir = tempProject({ "one.ts": ONE });
  const standalone = await startStandalone(dir);
  try {
    const plain: number[] = [];
    const waited: number[] = [];
    await cliMs(dir, ["dags", "trigger", "one", "--wait"]); // warm-up (parse cache, environment)
    for (let i = 0; i < 11; i++) {
      plain.push(await cliMs(dir, ["dags", "trigger", "one"]));
      waited.push(await cliMs(dir, ["dags", "trigger", "one", "--wait"]));
    }
    const base = percentile(plain, 50);
    const wait = percentile(waited, 50);
    const node = await nodeStartMs(11);
    // Inside the standalone, from the store's own timestamps: how soon a run created by another process started.
    const { openStore } = await import(dist("store/index.js"));
    const store = await openStore(`sqlite:${path.join(dir, ".airlock", "airlock.db")}`);
    const { runs } = await store.listRuns({ dagId: "one", limit: 100 });
    await store.close();
    const started = runs.filter((r: { startDate: string | null }) => r.startDate).map((r: { createdAt: string; startDate: string }) => Date.parse(r.startDate) - Date.parse(r.createdAt));
    return [
      { suite: "fleet", name: "(a) run created by the CLI → started by the standalone, p50", value: percentile(started, 50), unit: "ms" },
      { suite: "fleet", name: "(a) CLI start-up: dags trigger (no wait), p50", value: base, unit: "ms" },
      { suite: "fleet", name: "(a) CLI dags trigger --wait, one-task DAG, p50", value: wait, unit: "ms" },
      { suite: "fleet", name: "(a) trigger --wait above CLI start-up", value: wait - base, unit: "ms" },
      { suite: "fleet", name: "(a) same, less the task's own process start", value: wait - base - node, unit: "ms", goal: "<= 100 ms" },
    ];
  } finally {
    await stopChild(standalone);
    removeProject(dir);
  }
}

async function fairness(): Promise<BenchRow[]> {
  const [config, context, orch, actions] = await Promise.all([
    import(dist("config/config.js")), import(dist("core/context.js")), import(dist("services/orchestrator.js")), import(dist("core/actions.js")),
  ]);
  const dir = tempProject({ "wide.ts": WIDE, "small.ts": SMALL });
  const ctx = await context.createContext(await config.loadConfig({ cwd: dir }));
  const o = await orch.startOrchestrator(ctx, { parse: true, scheduler: true, executor: true, api: false });
  const actx = { ...ctx, wake: () => o.scheduler?.wake() };
  const waitRun = async (runId: string) => {
    for (;;) {
      const r = await ctx.store.getRun(runId);
      if (r.state === "success" || r.state === "failed") return r;
      await new Promise((res) => setTimeout(res, 10));
    }
  };
  try {
    // Parsing no longer holds up the orchestrator's start (slow files give back their slot): wait for both DAGs.
    for (const id of ["wide", "small"]) {
      for (const deadline = Date.now() + 300_000; !(await ctx.store.getDag(id)); ) {
        if (Date.now() > deadline) throw new Error(`DAG "${id}" was not parsed within 300 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const wide = await actions.triggerDagRun(actx, "wide", {});
    // Let the large run start and fill every slot before the small one arrives.
    for (let running = 0; running < 16; ) {
      await new Promise((r) => setTimeout(r, 100));
      running = (await ctx.store.listTaskInstances(wide.runId)).filter((t: { state: string }) => t.state === "running").length;
    }
    const samples: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const small = await actions.triggerDagRun(actx, "small", {});
      const done = await waitRun(small.runId);
      if (done.state !== "success") throw new Error(`the small run ended ${done.state}`);
      samples.push(performance.now() - t);
    }
    const left = (await ctx.store.listTaskInstances(wide.runId)).filter((t: { state: string }) => t.state === "queued").length;
    await actions.markRunState(actx, wide.runId, "failed");
    return [
      { suite: "fleet", name: "(b) 3-task chain under a 2,000-task DAG, trigger→success, p50 of 3", value: percentile(samples, 50), unit: "ms", goal: "a few seconds" },
      { suite: "fleet", name: "(b) 2,000-task DAG tasks still queued when the last chain ended", value: left, unit: "tasks" },
    ];
  } finally {
    await o.stop();
    removeProject(dir);
  }
}

/** Runs the fleet benchmark. */
export async function run(): Promise<BenchRow[]> {
  return [...(await triggerLatency()), ...(await fairness())];
}
