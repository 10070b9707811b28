/**
 * Many machines on the embedded SQLite store (the applicable half of the multi-host suite): stopping `standalone`
 * with SIGTERM leaves its running try to the next start, which adopts it (nothing fails); a worker killed with -9 on
 * another "host" is declared lost, its try fails with "worker lost" evidence and its retry runs on the route's
 * fallback queue; a task whose queue has no live worker waits queued with the reason, until a route change (no
 * restart) sends it elsewhere; and the workers and routes commands report all of it.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, waitUntil, type Project, type Standalone } from "./helpers/project.js";

let project: Project;
let standalone: Standalone | undefined;
const file = (name: string) => path.join(project.dir, name);
const lines = (name: string) => (existsSync(file(name)) ? readFileSync(file(name), "utf8").trim().split("\n").filter(Boolean) : []);

interface Summary { state: string; tasks: Array<{ taskId: string; state: string; tryNumber: number; waitReason?: string }> }
interface WorkerJson { workerId: string; hostname: string; state: string; queues: string[]; runningTries: Array<{ taskId: string; tryNumber: number }> }

const states = async (dag: string, run: string) => (await project.cliJson<Summary>(["tasks", "states", dag, run, "--json"])).json;
const workers = async () => (await project.cliJson<{ items: WorkerJson[] }>(["workers", "list", "--json"])).json.items;

beforeAll(() => {
  project = createProject({ config: { executor: { heartbeatMs: 300, workerTimeoutMs: 1500, fallbackAfterMs: 500 }, scheduler: { dagsArePausedAtCreation: false } } });
  const gate = (name: string) => `while [ ! -e ${file(name)} ]; do sleep 0.05; done`;
  project.writeDag("calm.ts", `import { bash, dag } from "airlock";
export default dag({ id: "calm" }, () => {
  bash({ id: "slow", command: ${JSON.stringify(`echo start; echo try >> ${file("marks-slow")}; ${gate("gate-slow")}; echo end`)} });
});
`);
  // The first try hangs on its (soon dead) worker's host; the retry finishes at once.
  project.writeDag("hop.ts", `import { bash, dag } from "airlock";
export default dag({ id: "hop" }, () => {
  bash({ id: "t", retries: 1, retryDelay: "100ms", command: ${JSON.stringify(`echo try >> ${file("marks-hop")}; if [ "$(wc -l < ${file("marks-hop")})" -eq 1 ]; then sleep 600; fi; echo hopped`)} });
});
`);
  project.writeDag("parked.ts", `import { bash, dag } from "airlock";
export default dag({ id: "parked" }, () => {
  bash({ id: "p", command: "echo ran" });
});
`);
});
afterAll(async () => {
  await standalone?.stop();
  await project.cleanup();
});

describe("fleet on SQLite standalone", () => {
  it("SIGTERM leaves a running try to the next start, which adopts it: the task succeeds on its first try", async () => {
    const first = await project.startStandalone();
    const runId = (await project.cli(["dags", "trigger", "calm"])).stdout.trim();
    await waitUntil("slow to start", () => lines("marks-slow").length === 1, 60_000, 50);
    const live = await workers();
    expect(live.find((w) => w.state === "live")?.runningTries.map((t) => t.taskId)).toEqual(["slow"]);
    expect(live.find((w) => w.state === "live")?.hostname).toBe(os.hostname());

    await first.stop();
    expect(first.output()).toMatch(/SIGTERM: stopping; running tries keep running/);
    expect((await states("calm", runId)).tasks[0]).toMatchObject({ state: "running", tryNumber: 1 });
    const after = await workers();
    expect(after.find((w) => w.workerId === live[0]!.workerId)?.state).toBe("stopped");

    standalone = await project.startStandalone();
    writeFileSync(file("gate-slow"), "");
    await waitUntil("calm to succeed", async () => (await states("calm", runId)).state === "success", 150_000, 200)
      .catch((err: Error) => Promise.reject(new Error(`${err.message}\n${first.output()}\n---\n${standalone?.output()}`)));
    expect((await states("calm", runId)).tasks[0]).toMatchObject({ state: "success", tryNumber: 1 });
    expect(lines("marks-slow")).toHaveLength(1);
    const log = (await project.cli(["tasks", "logs", "calm", runId, "slow"])).stdout;
    // Complete and not doubled: each line of the task once, the adoption noted, the end recorded once.
    expect(log).toMatch(/adopted after an orchestrator restart\)\n/);
    expect(log.match(/^start$/gm)).toHaveLength(1);
    expect(log.match(/^end$/gm)).toHaveLength(1);
    expect(log).toMatch(/\[airlock\] try 1 succeeded\n$/);
    expect(log).not.toMatch(/failed/);
  });

  it("declares a killed worker lost, fails its try as worker lost and retries it on the fallback queue", async () => {
    const set = await project.cli(["routes", "set", "hop", "far", "--fallback", "default"]);
    expect(set.code, set.stderr).toBe(0);
    const far = project.spawnCli(["worker", "--queue", "far"], { env: { AIRLOCK__EXECUTOR__HOSTNAME: "far-host" } });
    await far.waitFor(/airlock worker running/);
    await waitUntil("the far worker to register", async () => (await workers()).some((w) => w.hostname === "far-host" && w.state === "live"));
    const runId = (await project.cli(["dags", "trigger", "hop"])).stdout.trim();
    await waitUntil("hop's first try to start", () => lines("marks-hop").length === 1, 60_000, 50);
    const farWorker = (await workers()).find((w) => w.hostname === "far-host" && w.state === "live");
    expect(farWorker?.runningTries).toEqual([expect.objectContaining({ taskId: "t", tryNumber: 1 })]);

    far.child.kill("SIGKILL");
    await far.done;
    await waitUntil("hop to succeed", async () => (await states("hop", runId)).state === "success", 90_000, 200);
    expect(lines("marks-hop")).toHaveLength(2);
    expect((await states("hop", runId)).tasks[0]).toMatchObject({ state: "success", tryNumber: 2 });
    expect((await workers()).find((w) => w.workerId === farWorker!.workerId)?.state).toBe("lost");
    // The evidence is on the first try; the retry ran on this machine's standalone, through the fallback queue.
    const api = `${standalone!.url}/api/v1/dags/hop/runs/${encodeURIComponent(runId)}/tasks/t/tries`;
    const { tries: list } = (await (await fetch(api)).json()) as { tries: Array<{ tryNumber: number; state: string; hostname: string; error: { type: string; message: string } | null }> };
    expect(list[0]).toMatchObject({ tryNumber: 1, state: "failed", hostname: "far-host", error: { type: "WorkerLost" } });
    expect(list[0]!.error!.message).toMatch(/far-host.*no live worker on that host could adopt the try/);
    expect(list[1]).toMatchObject({ tryNumber: 2, state: "success", hostname: os.hostname() });
  });

  it("keeps a task queued with the reason while no live worker serves its queue, until the route changes", async () => {
    expect((await project.cli(["routes", "set", "parked", "nowhere"])).code).toBe(0);
    const runId = (await project.cli(["dags", "trigger", "parked"])).stdout.trim();
    const waiting = await waitUntil("p to wait with a reason", async () => (await states("parked", runId)).tasks[0]?.waitReason);
    expect(waiting).toMatch(/no live worker serves queue "nowhere"/);
    const table = (await project.cli(["tasks", "states", "parked", runId])).stdout;
    expect(table).toMatch(/waiting/);
    expect(table).toMatch(/no live worker serves queue "nowhere"/);
    const routes = (await project.cliJson<{ items: Array<{ target: string; queue: string; fallbacks: string[]; updatedBy: string }> }>(["routes", "list", "--json"])).json.items;
    expect(routes.map((r) => [r.target, r.queue, r.fallbacks])).toEqual([["hop", "far", ["default"]], ["parked", "nowhere", []]]);
    expect(routes[0]!.updatedBy).toMatch(/\(cli\)$/);
    expect((await states("parked", runId)).state).toBe("running");

    // Routing a task onto a served queue takes effect without a restart.
    expect((await project.cli(["routes", "set", "parked.p", "default"])).code).toBe(0);
    await waitUntil("parked to succeed", async () => (await states("parked", runId)).state === "success", 60_000, 200);
    expect((await states("parked", runId)).tasks[0]).toMatchObject({ state: "success", tryNumber: 1 });
    expect((await project.cli(["routes", "rm", "parked.p"])).code).toBe(0);
    expect((await project.cli(["routes", "list"])).stdout).not.toMatch(/parked\.p/);
  });

  it("rejects bad routes with exit 2 and a hint", async () => {
    const unknown = await project.cli(["routes", "set", "no_such_dag", "q"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no_such_dag/);
    expect(unknown.stderr).toMatch(/hint: .*dags list/);
    const badQueue = await project.cli(["routes", "set", "parked", "bad queue!"]);
    expect(badQueue.code).toBe(2);
    expect(badQueue.stderr).toMatch(/queue/);
    const dup = await project.cli(["routes", "set", "parked", "a", "--fallback", "a"]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/fallback/);
    const rm = await project.cli(["routes", "rm", "nothing_here"]);
    expect(rm.code).toBe(2);
    const worker = await project.cli(["worker", "--queue", "no spaces"]);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toMatch(/--queue/);
  });
});
