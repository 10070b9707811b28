/**
 * Deferrable sensors through the real CLI and `airlock standalone` / `airlock worker` processes: time, file (templated
 * path), external task and HTTP sensors in mode "deferrable" wait as `deferred` with no process of their own, finish
 * when their trigger fires, honour timeout and softFail, survive an orchestrator restart, and move to another
 * worker when theirs is lost.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, projectProcesses, waitUntil, type Project } from "./helpers/project.js";

const ALL = `import { dag, externalTaskSensor, fileSensor, fn, httpSensor, timeSensor } from "airlock";
const fast = { mode: "deferrable" as const, pokeInterval: "200ms" };
export default dag({ id: "waits", params: { dir: "" } }, () => {
  const file = fileSensor({ id: "file", path: "{{ params.dir }}/ready-{{ ds }}.flag", timeout: "60s", ...fast });
  const time = timeSensor({ id: "time", delta: "1s", ...fast });
  const http = httpSensor({ id: "http", connection: "svc", path: "/status", responseContains: "ready", timeout: "60s", ...fast });
  const soft = fileSensor({ id: "soft", path: "/nonexistent/never", timeout: "1s", softFail: true, ...fast });
  const hard = fileSensor({ id: "hard", path: "/nonexistent/never", timeout: "1s", ...fast });
  const other = externalTaskSensor({ id: "other", externalDagId: "waits", externalTaskId: "file", timeout: "60s", ...fast });
  const after = fn({ id: "after", triggerRule: "all_done", run: async (ctx) => ({ file: ctx.xcom.pull("file"), http: ctx.xcom.pull("http") }) });
  [file, time, http, soft, hard, other].forEach((t) => t.then(after));
});
`;
const MANY = `import { dag, fileSensor } from "airlock";
export default dag({ id: "many", params: { dir: "" } }, () => {
  for (let i = 0; i < 20; i++) fileSensor({ id: "wait_" + i, path: "{{ params.dir }}/go", mode: "deferrable", pokeInterval: "300ms", timeout: "10m" });
});
`;

interface Summary { runId: string; state: string; tasks: Array<{ taskId: string; state: string; tryNumber: number; xcom: any }> }

let project: Project;
let server: Server;
let ready = false;
beforeAll(async () => {
  server = createServer((req, res) => res.end(req.url === "/status" && ready ? "ready" : "starting"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  project = createProject({
    dags: { "waits.ts": ALL, "many.ts": MANY },
    env: { AIRLOCK_CONN_SVC: `http://127.0.0.1:${port}` },
    config: { executor: { heartbeatMs: 500, workerTimeoutMs: 3000 } },
  });
});
afterAll(async () => {
  await project.cleanup();
  server.close();
});

const stateOf = (s: Summary, id: string) => s.tasks.find((t) => t.taskId === id);

describe("deferrable sensors", () => {
  it("time, file, HTTP and external task sensors defer and finish when their trigger fires; timeout fails or soft-fails", async () => {
    const dir = path.join(project.dir, "flags");
    const day = new Date().toISOString().slice(0, 10);
    const run = project.spawnCli(["dags", "test", "waits", "--json", "--conf", JSON.stringify({ dir })], { timeoutMs: 120_000 });
    // Nothing is ready yet: the file and the HTTP endpoint come later, while their sensors are deferred.
    await waitUntil("the file sensor deferred", async () => {
      const log = await project.cli(["tasks", "logs", "waits", "latest", "file"]);
      return log.stdout.includes("deferred: waiting for file") ? log.stdout : null;
    }, 60_000, 250);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `ready-${day}.flag`), "ok");
    ready = true;
    const r = await run.done;
    const s = JSON.parse(r.stdout) as Summary;
    expect(stateOf(s, "file")).toMatchObject({ state: "success", tryNumber: 1, xcom: path.join(dir, `ready-${day}.flag`) });
    expect(stateOf(s, "time")?.state).toBe("success");
    expect(stateOf(s, "http")).toMatchObject({ state: "success", xcom: "ready" });
    expect(stateOf(s, "other")).toMatchObject({ state: "success", xcom: { state: "success" } });
    expect(stateOf(s, "soft")?.state).toBe("skipped");
    expect(stateOf(s, "hard")?.state).toBe("failed");
    expect(stateOf(s, "after")?.xcom).toEqual({ file: path.join(dir, `ready-${day}.flag`), http: "ready" });
    const fileLog = (await project.cli(["tasks", "logs", "waits", s.runId, "file"])).stdout;
    expect(fileLog).toContain(`deferred: waiting for file ${dir}/ready-${day}.flag`);
    expect(fileLog).toContain("without a process or a slot");
    expect(fileLog).toContain(`trigger fired: found ${dir}/ready-${day}.flag`);
    const hardLog = (await project.cli(["tasks", "logs", "waits", s.runId, "hard"])).stdout;
    expect(hardLog).toContain("SensorTimeout: file /nonexistent/never was not ready by the sensor's timeout");
    expect((await project.cli(["tasks", "logs", "waits", s.runId, "soft"])).stdout).toContain("(soft fail: skipped)");
  });

  it("deferred sensors hold no process, show as deferred in the CLI and API, and survive a restart of the orchestrator", async () => {
    const dir = path.join(project.dir, "many-flags");
    mkdirSync(dir, { recursive: true });
    let standalone = await project.startStandalone();
    const before = projectProcesses(project.dir).length;
    const trigger = await project.cliJson<{ runId: string }>(["dags", "trigger", "many", "--json", "--conf", JSON.stringify({ dir })]);
    const runId = trigger.json.runId;
    const states = async () => (await project.cliJson<Summary>(["tasks", "states", "many", runId, "--json"])).json.tasks.map((t) => t.state);
    await waitUntil("all 20 deferred", async () => ((await states()).every((x) => x === "deferred") ? true : null), 90_000, 300);
    // Twenty waits and no process each: at most a DAG-file parse child or two beside the orchestrator's own.
    expect(projectProcesses(project.dir).length).toBeLessThanOrEqual(before + 2);
    const tries = await fetch(`${standalone.url}/api/v1/dags/many/runs/${encodeURIComponent(runId)}/tasks/wait_0/tries`).then((r) => r.json()) as { tries: Array<{ state: string }> };
    expect(tries.tries.map((t) => t.state)).toEqual(["deferred"]);
    const api = await fetch(`${standalone.url}/api/v1/dags/many/runs/${encodeURIComponent(runId)}/tasks`).then((r) => r.json()) as { taskInstances: Array<{ state: string }> };
    expect(api.taskInstances.map((t) => t.state)).toEqual(Array(20).fill("deferred"));

    // The orchestrator stops; its deferrals stay in the store and a new one picks them up.
    await standalone.stop();
    expect(await states()).toEqual(Array(20).fill("deferred"));
    standalone = await project.startStandalone();
    try {
      writeFileSync(path.join(dir, "go"), "");
      await waitUntil("all 20 succeeded", async () => ((await states()).every((x) => x === "success") ? true : null), 90_000, 300);
      const log = (await project.cli(["tasks", "logs", "many", runId, "wait_7"])).stdout;
      expect(log).toContain("trigger fired: found");
      await waitUntil("the run succeeded", async () => {
        const runs = (await project.cliJson<{ items: Array<{ runId: string; state: string }> }>(["runs", "list", "many", "--json"])).json.items;
        return runs.find((r) => r.runId === runId)?.state === "success" ? true : null;
      }, 60_000, 300);
    } finally {
      await standalone.stop();
    }
  });

  it("a deferred sensor of a lost worker is picked up by another live worker", async () => {
    const dir = path.join(project.dir, "lost-flags");
    mkdirSync(dir, { recursive: true });
    const first = await project.startStandalone();
    const trigger = await project.cliJson<{ runId: string }>(["dags", "trigger", "many", "--json", "--conf", JSON.stringify({ dir })]);
    const runId = trigger.json.runId;
    const states = async () => (await project.cliJson<Summary>(["tasks", "states", "many", runId, "--json"])).json.tasks.map((t) => t.state);
    await waitUntil("all deferred", async () => ((await states()).every((x) => x === "deferred") ? true : null), 90_000, 300);
    // The first orchestrator dies without a word; a worker started elsewhere takes its triggers once it is lost.
    await first.kill9();
    const worker = project.spawnCli(["worker"], { timeoutMs: 180_000 });
    try {
      writeFileSync(path.join(dir, "go"), "");
      await waitUntil("the other worker finished the waits", async () => ((await states()).every((x) => x === "success") ? true : null), 90_000, 300);
      expect(existsSync(path.join(dir, "go"))).toBe(true);
      const log = (await project.cli(["tasks", "logs", "many", runId, "wait_3"])).stdout;
      expect(log).toContain("trigger fired: found");
    } finally {
      worker.child.kill("SIGTERM");
      await worker.done.catch(() => undefined);
    }
  });
});
