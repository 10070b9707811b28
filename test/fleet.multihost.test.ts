/**
 * Many machines, proven across hosts: three hosts (network namespaces on this machine, see helpers/netns.ts), each
 * with its own worker and state directory, two schedulers, one Postgres. While runs go on: a worker is killed with
 * -9 (the other worker of its host adopts its tries), a host's link is cut and restored (its tries are retried elsewhere,
 * it rejoins), the leading scheduler is killed with -9 (the standby takes over), and a route is changed during a run
 * (the next stage runs where the route says). Every run finishes once, no two tries of a task instance overlap, and
 * every successful try's log is complete. Each task's shell beats into a shared file while it lives.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStore, type Store } from "../src/store/index.js";
import { createNetHosts, type NetHost, type NetHosts } from "./helpers/netns.js";
import { createTestDatabase, type TestDatabase } from "./helpers/postgres.js";
import { BIN, createProject, sleep, waitUntil, type Project } from "./helpers/project.js";

const FLEET = { heartbeatMs: 1000, workerTimeoutMs: 6000, fallbackAfterMs: 1000 };
const TASKS = ["a1", "a2", "a3", "b1", "b2", "b3"];

let net: NetHosts | undefined;
let db: TestDatabase | undefined;
let project: Project;
let store: Store | undefined;
let hostUrl = "";
const procs = new Set<ChildProcess>();
const outputs: Array<{ name: string; output: () => string }> = [];

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AIRLOCK") && !k.startsWith("VITEST") && k !== "NODE_OPTIONS") out[k] = v;
  return { ...out, AIRLOCK__SECRETS__KEY: "fleet-suite-secret-key", ...extra };
}

/** Starts an Airlock service on a host, with the host's name and state directory. */
function start(host: NetHost, args: string[], name: string): ChildProcess & { output: () => string } {
  const child = net!.spawnIn(host, [process.execPath, BIN, ...args], {
    cwd: project.dir,
    // One state directory per host, shared by the host's processes (a worker adopts from the host's try files).
    env: env({ AIRLOCK__STORE: hostUrl, AIRLOCK__EXECUTOR__HOSTNAME: host.name, AIRLOCK__STATE_DIR: `.state-${host.name}` }),
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  procs.add(child);
  child.once("exit", () => procs.delete(child));
  outputs.push({ name: `${name} on ${host.name}`, output: () => out });
  return Object.assign(child, { output: () => out });
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await gone;
}

const marks = () => (existsSync(path.join(project.dir, "marks")) ? readFileSync(path.join(project.dir, "marks"), "utf8").trim().split("\n").filter(Boolean) : []);
const runningOn = async (hostname: string, runId: string) => (await store!.listRunningTries()).filter((t) => t.hostname === hostname && t.runId === runId);
const trigger = async () => {
  const r = await project.cli(["dags", "trigger", "spread"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
};

beforeAll(async () => {
  db = await createTestDatabase("airlock_fleet");
  net = await createNetHosts(3);
  hostUrl = await net.storeUrl(db.url);
  project = createProject({
    config: { store: db.url, executor: FLEET, scheduler: { leaseMs: 3000, pollIntervalMs: 250 } },
    env: { AIRLOCK__SECRETS__KEY: "fleet-suite-secret-key" },
  });
  // Each try appends a beat line every 0.2 s (a killed try stops beating): its first and last beats bound its life.
  const m = path.join(project.dir, "marks");
  // While the file "hold" exists, tasks wait before they start beating (the route change in phase 4 needs that).
  const hold = path.join(project.dir, "hold");
  const work = (id: string) => [
    `while [ -e ${hold} ]; do sleep 0.1; done`,
    `tok=$$-$RANDOM`,
    `for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "beat {{ run_id }} ${id} $tok $(date +%s%N)" >> ${m}; sleep 0.2; done`,
    `echo done-${id}`,
  ].join("\n");
  project.writeDag("spread.ts", `import { bash, dag } from "airlock";
export default dag({ id: "spread", maxActiveRuns: 4 }, () => {
  const t = (id: string, cmd: string) => bash({ id, retries: 3, retryDelay: "200ms", command: cmd });
  const a = [${["a1", "a2", "a3"].map((id) => `t("${id}", ${JSON.stringify(work(id))})`).join(", ")}];
  const b = [${["b1", "b2", "b3"].map((id) => `t("${id}", ${JSON.stringify(work(id))})`).join(", ")}];
  a.forEach((x, i) => x.then(b[i]!));
});
`);
  store = await openStore(db.url);
}, 300_000);

afterAll(async () => {
  for (const p of [...procs]) await kill9(p);
  await store?.close();
  await project?.cleanup();
  await net?.cleanup();
  await db?.drop();
});

it("survives a killed worker, a cut link and a killed leader, follows a route change, and runs everything once", async () => {
  try {
    await scenario();
  } catch (err) {
    // The services' own output says what went wrong on which host.
    const tail = (s: string) => s.split("\n").filter((l) => !l.startsWith("    at ")).slice(-25).join("\n");
    const state: string[] = [];
    for (const run of (await store!.listRuns({ dagId: "spread" })).runs) {
      for (const ti of await store!.listTaskInstances(run.runId)) {
        const tries = (await store!.listTries(run.runId, ti.taskId)).map((t) => `${t.tryNumber}:${t.state}@${t.hostname}/${t.workerId}#${t.epoch}${t.error ? `(${t.error.type})` : ""}`);
        state.push(`${run.runId} ${run.state} ${ti.taskId} ${ti.state} q=${ti.queue} ${tries.join(" ")}`);
      }
    }
    const workers = (await store!.listWorkers()).map((w) => `${w.workerId} ${w.state} ${w.heartbeatAt}`);
    throw new Error(`${(err as Error).message}\n${state.join("\n")}\n${workers.join("\n")}\n${outputs.map((o) => `--- ${o.name}:\n${tail(o.output())}`).join("\n")}`, { cause: err });
  }
}, 900_000);

async function scenario(): Promise<void> {
  const [h1, h2, h3] = net!.hosts as [NetHost, NetHost, NetHost];
  const s1 = start(h1, ["scheduler"], "s1");
  const s2 = start(h2, ["scheduler"], "s2");
  const w1 = start(h1, ["worker", "--queue", "default", "--queue", "host1"], "w1");
  start(h2, ["worker", "--queue", "default", "--queue", "host2"], "w2");
  start(h3, ["worker", "--queue", "default", "--queue", "host3"], "w3");
  await waitUntil("three live workers and a leader", async () =>
    (await store!.listWorkers()).filter((w) => w.state === "live").length === 3 && (await store!.leaseHolder("scheduler")) !== undefined, 240_000, 200);
  await waitUntil("the DAG to be parsed", async () => (await store!.getDag("spread")) !== undefined, 60_000, 200);
  expect((await project.cli(["dags", "unpause", "spread"])).code).toBe(0);

  const route = async (...args: string[]) => {
    const r = await project.cli(["routes", "set", "spread", ...args]);
    expect(r.code, r.stderr).toBe(0);
  };
  // 1. kill -9 of a worker while it runs tries (routed to its host): the other worker of that host adopts them.
  await route("host1");
  const w1Id = (await store!.listWorkers()).find((w) => w.hostname === "host1" && w.state === "live")!.workerId;
  // The second worker of host1 serves a queue of its own, so that the tries to adopt are all the first one's.
  start(h1, ["worker", "--queue", "spare"], "w1b");
  await waitUntil("a second worker on host1", async () => (await store!.listWorkers()).filter((w) => w.hostname === "host1" && w.state === "live").length === 2, 120_000, 100);
  const r1 = await trigger();
  // Tries whose shell already beats (a try killed while it launched has nothing to adopt and is retried).
  const adoptable = await waitUntil("a try of r1 beating on host1", async () => {
    const beating = new Set(marks().filter((l) => l.split(" ")[1] === r1).map((l) => l.split(" ")[2]));
    const t = (await runningOn("host1", r1)).filter((x) => x.workerId === w1Id && beating.has(x.taskId));
    return t.length > 0 ? t : null;
  }, 120_000, 50);
  await kill9(w1);

  // 2. a host's link is cut for longer than workerTimeoutMs, then restored; the fallback queue takes over meanwhile.
  await route("host2", "--fallback", "default");
  const r2 = await trigger();
  const cutTries = await waitUntil("a try of r2 on host2", async () => {
    const t = await runningOn("host2", r2);
    return t.length > 0 ? t : null;
  }, 60_000, 50);
  net!.setLink(h2, false);
  await sleep(FLEET.workerTimeoutMs + 2500);
  net!.setLink(h2, true);

  // 3. kill -9 of the leading scheduler; a run triggered meanwhile is started by the new leader.
  const leader = (await waitUntil("a leader", () => store!.leaseHolder("scheduler"), 60_000, 100)).holder;
  const leaderPid = Number(leader.split(":")[1]);
  const victim = [s1, s2].find((s) => s.pid === leaderPid);
  expect(victim, `leader ${leader} is one of the two schedulers`).toBeDefined();
  await kill9(victim!);
  // 4. a route change during a run: r3's first stage is held until the route changed; its second stage runs on host3.
  writeFileSync(path.join(project.dir, "hold"), "");
  const r3 = await trigger();
  await waitUntil("r3's first stage to start", async () => (await store!.listTaskInstances(r3)).filter((t) => t.state === "running").length === 3, 180_000, 100);
  await route("host3");
  rmSync(path.join(project.dir, "hold"));

  for (const runId of [r1, r2, r3]) {
    await waitUntil(`${runId} to succeed`, async () => (await store!.getRun(runId))?.state === "success", 180_000, 250);
  }

  // The leader changed, and the standby never stopped: exactly three runs exist.
  expect((await store!.leaseHolder("scheduler"))?.holder).not.toBe(leader);
  expect((await store!.listRuns({ dagId: "spread" })).total).toBe(3);
  for (const runId of [r1, r2, r3]) {
    for (const taskId of TASKS) {
      const tries = await store!.listTries(runId, taskId);
      expect(tries.filter((t) => t.state === "success"), `${runId} ${taskId}`).toHaveLength(1);
      const ok = tries.find((t) => t.state === "success")!;
      // No log lost: the successful try's log is complete on its host.
      const log = readFileSync(ok.logPath, "utf8");
      expect(log).toMatch(new RegExp(`^done-${taskId}$`, "m"));
      expect(log).toMatch(new RegExp(`\\[airlock\\] try ${ok.tryNumber} succeeded\\n$`));
    }
  }
  // Adopted, not retried: the tries the killed worker ran were taken over (a new owner and epoch) by host1's other worker.
  const w1b = (await store!.listWorkers()).filter((w) => w.hostname === "host1" && w.workerId !== w1Id).map((w) => w.workerId);
  for (const t of adoptable) {
    const now = await store!.getTry(t);
    expect(now?.epoch, `${t.taskId} try ${t.tryNumber}`).toBeGreaterThanOrEqual(1);
    expect(w1b).toContain(now?.workerId);
  }
  expect((await store!.listWorkers()).find((w) => w.workerId === w1Id)?.state).toBe("lost");
  // The cut host's tries ended (recorded by their worker once it was back, or failed as lost and retried), and its
  // worker rejoined.
  for (const t of cutTries) {
    const end = (await store!.listTries(t.runId, t.taskId)).find((x) => x.tryNumber === t.tryNumber);
    expect(end?.state).not.toBe("running");
    if (end?.state === "failed") expect(["WorkerLost", "TaskKilled", "TaskExited"]).toContain(end.error?.type);
  }
  await waitUntil("host2's worker to be live again", async () => (await store!.listWorkers()).some((w) => w.hostname === "host2" && w.state === "live"), 30_000, 200);
  // The route: r3's second stage was queued after the change, and ran on host3.
  for (const taskId of ["b1", "b2", "b3"]) {
    const ok = (await store!.listTries(r3, taskId)).find((t) => t.state === "success");
    expect(ok?.hostname, `r3 ${taskId}`).toBe("host3");
  }

  // No two tries of one task instance ran at the same time.
  const spans = new Map<string, Map<string, { start: number; end: number }>>();
  for (const line of marks()) {
    const [, runId, taskId, tok, ns] = line.split(" ") as [string, string, string, string, string];
    const key = `${runId} ${taskId}`;
    const byTok = spans.get(key) ?? new Map<string, { start: number; end: number }>();
    spans.set(key, byTok);
    const at = Number(BigInt(ns) / 1_000_000n);
    const span = byTok.get(tok) ?? { start: at, end: at };
    byTok.set(tok, { start: Math.min(span.start, at), end: Math.max(span.end, at) });
  }
  expect(spans.size).toBe(3 * TASKS.length);
  for (const [key, byTok] of spans) {
    const sorted = [...byTok.values()].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1]!.end, `${key}: two tries overlapped`).toBeLessThan(sorted[i]!.start);
  }
}
