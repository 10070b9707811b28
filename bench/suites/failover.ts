/**
 * Failover figures (issue 9) with default settings on the shared test Postgres: (a) takeover by the standby after
 * kill -9 of the leading scheduler; (b) kill -9 of a worker running a try on one host → the try failed over ("worker
 * lost", retried) with no live worker left on that host, and → the retry running on the other host; (c) kill -9 and
 * immediate restart of a worker → its try adopted by the new worker of the same host.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { benchPostgres, percentile, removeProject, ROOT, tempProject, type BenchRow } from "../lib.js";

const BIN = path.join(ROOT, "bin", "airlock.js");
const ROUNDS = 3;

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Kills the task processes a lost worker left behind (their working directory is inside the project). */
function killLeftovers(dir: string): void {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) process.kill(Number(entry), "SIGKILL");
    } catch {
      // Gone, or not ours to read.
    }
  }
}

/** Runs the suite. */
export async function run(): Promise<BenchRow[]> {
  const db = await benchPostgres();
  const dir = tempProject({
    "hold.ts": `import { bash, dag } from "airlock";
export default dag({ id: "hold" }, () => { bash({ id: "t", retries: 5, retryDelay: "0s", command: "sleep 600" }); });`,
  });
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify({ store: db.url, secrets: { key: "bench-fleet-secret-key" } }));
  const { openStore } = (await import(pathToFileURL(path.join(ROOT, "dist", "store", "index.js")).href)) as { openStore(url: string): Promise<any> };
  const store = await openStore(db.url);
  const children = new Set<ChildProcess>();
  const start = (args: string[], env: Record<string, string> = {}) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, ...env }, stdio: "ignore" });
    children.add(c);
    c.once("exit", () => children.delete(c));
    return c;
  };
  const kill9 = async (c: ChildProcess) => {
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await gone;
  };
  const rows: BenchRow[] = [];
  try {
    // (a) Scheduler takeover.
    let a = start(["scheduler"]);
    let b = start(["scheduler"]);
    const takeover: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const holder: string = (await until("a leader", async () => (await store.leaseHolder("scheduler"))?.holder)) as string;
      const leader = [a, b].find((c) => c.pid === Number(holder.split(":")[1]));
      if (!leader) throw new Error(`the lease holder ${holder} is not one of the schedulers`);
      const t0 = performance.now();
      await kill9(leader);
      await until("the standby to take over", async () => {
        const h = await store.leaseHolder("scheduler");
        return h && h.holder !== holder;
      });
      takeover.push(performance.now() - t0);
      if (leader === a) a = start(["scheduler"]);
      else b = start(["scheduler"]);
    }
    rows.push({ suite: "failover", name: "scheduler takeover after kill -9 of the leader (p50)", value: percentile(takeover, 50), unit: "ms", goal: "≤ 10000" });
    rows.push({ suite: "failover", name: "scheduler takeover after kill -9 of the leader (max)", value: Math.max(...takeover), unit: "ms", goal: "≤ 10000" });
    await until("the DAG to be parsed", async () => store.getDag("hold"));
    execFileSync(process.execPath, [BIN, "dags", "unpause", "hold"], { cwd: dir, stdio: "ignore" });

    // (b) Worker lost with no live worker left on its host: failed over and retried on the other host.
    const lost: number[] = [];
    const rerun: number[] = [];
    const adopt: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const wa = start(["worker"], { AIRLOCK__EXECUTOR__HOSTNAME: `bench-a${i}` });
      const runId = execFileSync(process.execPath, [BIN, "dags", "trigger", "hold"], { cwd: dir }).toString().trim();
      const first = await until("the try on host a", async () => (await store.listRunningTries()).find((t: any) => t.runId === runId && t.hostname === `bench-a${i}`));
      const wb = start(["worker"], { AIRLOCK__EXECUTOR__HOSTNAME: `bench-b${i}` });
      await until("worker b to register", async () => (await store.listWorkers()).some((w: any) => w.hostname === `bench-b${i}` && w.state === "live"));
      const t0 = performance.now();
      await kill9(wa);
      await until("the try to fail over", async () => (await store.getTry(first))?.state === "failed");
      lost.push(performance.now() - t0);
      await until("the retry to run on host b", async () => (await store.listRunningTries()).some((t: any) => t.runId === runId && t.hostname === `bench-b${i}`));
      rerun.push(performance.now() - t0);

      // (c) kill -9 of host b's worker and an immediate restart: the new worker adopts the try.
      const second = (await store.listRunningTries()).find((t: any) => t.runId === runId);
      const t1 = performance.now();
      await kill9(wb);
      const wb2 = start(["worker"], { AIRLOCK__EXECUTOR__HOSTNAME: `bench-b${i}` });
      await until("the adoption", async () => {
        const t = await store.getTry(second);
        return t && t.state === "running" && t.workerId !== second.workerId;
      });
      adopt.push(performance.now() - t1);
      // Marked failed by hand: the adopting worker stops the try, then goes.
      await store.transitionTask(runId, "t", ["running"], { state: "failed", endDate: new Date().toISOString() });
      await until("the try to be stopped", async () => (await store.getTry(second))?.state !== "running");
      await kill9(wb2);
    }
    rows.push({ suite: "failover", name: "worker kill -9 → its try failed over as worker lost (p50)", value: percentile(lost, 50), unit: "ms", goal: "≤ 30000" });
    rows.push({ suite: "failover", name: "worker kill -9 → its try failed over as worker lost (max)", value: Math.max(...lost), unit: "ms", goal: "≤ 30000" });
    rows.push({ suite: "failover", name: "worker kill -9 → retry running on another host (p50)", value: percentile(rerun, 50), unit: "ms" });
    rows.push({ suite: "failover", name: "worker kill -9 + restart → try adopted on its host (p50)", value: percentile(adopt, 50), unit: "ms" });
  } finally {
    for (const c of [...children]) await kill9(c);
    killLeftovers(dir);
    await store.close();
    await db.drop();
    removeProject(dir);
  }
  return rows;
}
