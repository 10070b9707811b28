/**
 * Run-level controls through `airlock standalone`: dagrunTimeout fails a run that goes on too long and stops its
 * task; dependsOnPast holds a task until it succeeded in the previous run; maxConsecutiveFailedRuns pauses the DAG
 * with a reason shown by the CLI and the API, which unpausing clears.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api/client.js";
import { createProject, waitUntil, type Project, type Standalone } from "./helpers/project.js";
import { alive } from "./helpers/sandbox.js";

const TOKEN = "run-controls-admin";
const slow = (pidFile: string) => `import { bash, dag } from "airlock";
export default dag({ id: "slow", dagrunTimeout: "2s" }, () => {
  bash({ id: "sleepy", command: "echo $$ > '${pidFile}'; sleep 300" });
});
`;
const FLAKY = `import { bash, dag } from "airlock";
export default dag({ id: "flaky", maxConsecutiveFailedRuns: 2 }, () => {
  bash({ id: "boom", command: "exit 1" });
});
`;
const ordered = (flag: string) => `import { bash, dag } from "airlock";
export default dag({ id: "ordered", schedule: "@daily", startDate: "2026-01-01", endDate: "2026-01-03", catchup: true, maxActiveRuns: 3 }, () => {
  const first = bash({ id: "first", dependsOnPast: true,
    command: "if [ '{{ ds }}' = 2026-01-02 ] && [ ! -e '${flag}' ]; then exit 1; fi; echo '{{ ds }}'" });
  first.then(bash({ id: "second", command: "echo after" }));
});
`;

type Runs = { items: Array<{ runId: string; state: string; logicalDate: string; runType: string }> };
type States = { state: string; tasks: Array<{ taskId: string; state: string }> };

let project: Project;
let standalone: Standalone;
let client: ApiClient;
let flag: string;
let pidFile: string;
beforeAll(async () => {
  project = createProject({ dags: { "flaky.ts": FLAKY } });
  pidFile = path.join(project.dir, "sleepy.pid");
  project.writeDag("slow.ts", slow(pidFile));
  flag = path.join(project.dir, "day2-fixed");
  project.writeDag("ordered.ts", ordered(flag));
  standalone = await project.startStandalone({ env: { AIRLOCK__API__TOKEN: TOKEN } });
  client = new ApiClient({ url: standalone.url, token: TOKEN });
}, 60_000);
afterAll(async () => {
  await standalone?.stop();
  await project.cleanup();
});


const taskStates = async (dagId: string, runId: string) =>
  Object.fromEntries((await project.cliJson<States>(["tasks", "states", dagId, runId, "--json"])).json.tasks.map((t) => [t.taskId, t.state]));

describe("run-level controls", () => {
  it("dagrunTimeout fails the run and stops its running task", async () => {
    const r = await project.cliJson<States>(["dags", "trigger", "slow", "--wait", "--json"], { timeoutMs: 60_000 });
    expect(r.json.state).toBe("failed");
    expect(r.json.tasks.find((t) => t.taskId === "sleepy")?.state).toBe("failed");
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(pid).toBeGreaterThan(0);
    await waitUntil("the sleeping task to be stopped", () => !alive(pid), 30_000);
  });

  it("maxConsecutiveFailedRuns pauses the DAG with its reason; unpausing clears it", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await project.cliJson<States>(["dags", "trigger", "flaky", "--wait", "--json"], { timeoutMs: 60_000 });
      expect(r.json.state).toBe("failed");
    }
    const dag = await waitUntil("flaky to be paused", async () => {
      const d = await client.getDag("flaky");
      return d.isPaused ? d : null;
    }, 30_000, 200);
    expect(dag.pausedReason).toMatch(/^paused after 2 failed runs in a row \(maxConsecutiveFailedRuns\), the latest manual__flaky__/);
    const list = await project.cli(["dags", "list"]);
    expect(list.stdout).toContain("flaky: paused after 2 failed runs in a row");
    expect(list.stdout).toContain("airlock dags unpause flaky");
    const show = await project.cli(["dags", "show", "flaky"]);
    expect(show.stdout).toContain("[paused: paused after 2 failed runs in a row");
    await project.cli(["dags", "unpause", "flaky"]);
    expect((await client.getDag("flaky")).pausedReason).toBeNull();
  });

  it("dependsOnPast holds a task until it succeeded in the previous run", async () => {
    const byDay = async () => {
      const runs = (await project.cliJson<Runs>(["runs", "list", "ordered", "--json"])).json.items.filter((r) => r.runType === "scheduled");
      return new Map(runs.map((r) => [r.logicalDate.slice(0, 10), r]));
    };
    const runs = await waitUntil("day 1 done and day 2 failed", async () => {
      const m = await byDay();
      return m.get("2026-01-01")?.state === "success" && m.get("2026-01-02")?.state === "failed" && m.has("2026-01-03") ? m : null;
    }, 90_000, 250);
    const day3 = runs.get("2026-01-03")?.runId as string;
    expect(await taskStates("ordered", day3)).toEqual({ first: "none", second: "none" });
    writeFileSync(flag, "");
    await client.clearTask("ordered", runs.get("2026-01-02")?.runId as string, "first", { downstream: true });
    const done = await waitUntil("all three days to succeed", async () => {
      const m = await byDay();
      return [...m.values()].every((r) => r.state === "success") ? m : null;
    }, 90_000, 250);
    expect(done.size).toBe(3);
    expect(await taskStates("ordered", day3)).toEqual({ first: "success", second: "success" });
  });
});
