/**
 * Retries with exponential backoff: a task that fails twice goes up_for_retry, waits the growing (capped) delay,
 * and succeeds on its third try; each try has its own log (`tasks logs --try N`); a task out of retries fails.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, sleep, type Project } from "./helpers/project.js";

const DAG = `import { dag, fn } from "airlock";
export default dag({ id: "retrying" }, () => {
  fn({
    id: "flaky",
    retries: 3,
    retryDelay: "2s",
    retryExponentialBackoff: true,
    maxRetryDelay: "3s",
    run: async (ctx) => {
      console.log("try " + ctx.tryNumber + " at " + Date.now());
      if (ctx.tryNumber < 3) throw new Error("not yet (try " + ctx.tryNumber + ")");
      return "ok on try " + ctx.tryNumber;
    },
  });
  fn({ id: "hopeless", retries: 1, retryDelay: "100ms", run: async (ctx) => { throw new Error("always fails, try " + ctx.tryNumber); } });
});
`;

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "retrying.ts": DAG } });
});
afterAll(async () => {
  await project.cleanup();
});

it("retries with exponential backoff, one log per try", async () => {
  const run = project.spawnCli(["dags", "test", "retrying", "--json"]);
  // Watch the task between tries through another CLI process.
  const seen = new Set<string>();
  let done = false;
  void run.done.then(() => (done = true));
  while (!done) {
    const s = await project.cli(["tasks", "states", "retrying", "latest", "--json"]);
    if (s.code === 0) {
      const flaky = (JSON.parse(s.stdout) as { tasks: Array<{ taskId: string; state: string; tryNumber: number }> }).tasks.find((t) => t.taskId === "flaky");
      if (flaky) seen.add(`${flaky.state}@${flaky.tryNumber}`);
    }
    await sleep(100);
  }
  const r = await run.done;
  expect(r.code).toBe(1);
  const summary = JSON.parse(r.stdout) as { runId: string; tasks: Array<{ taskId: string; state: string; tryNumber: number; xcom: unknown }> };
  expect(summary.tasks.find((t) => t.taskId === "flaky")).toMatchObject({ state: "success", tryNumber: 3, xcom: "ok on try 3" });
  expect(summary.tasks.find((t) => t.taskId === "hopeless")).toMatchObject({ state: "failed", tryNumber: 2 });
  expect([...seen].some((s) => s.startsWith("up_for_retry@"))).toBe(true);

  const logs: string[] = [];
  for (const n of [1, 2, 3]) {
    const log = await project.cli(["tasks", "logs", "retrying", summary.runId, "flaky", "--try", String(n)]);
    expect(log.code).toBe(0);
    logs.push(log.stdout);
    expect(log.stdout).toContain(`try ${n} at `);
    for (const other of [1, 2, 3].filter((o) => o !== n)) expect(log.stdout).not.toContain(`try ${other} at `);
  }
  expect(logs[0]).toContain("failed: Error: not yet (try 1) (retry 2 of 4 in 2000 ms)");
  // The stack trace names the DAG file, not its compiled bundle.
  expect(logs[0]).toMatch(/at run \(\S*dags\/retrying\.ts:\d+:\d+\)/);
  // Doubled, then capped by maxRetryDelay.
  expect(logs[1]).toContain("failed: Error: not yet (try 2) (retry 3 of 4 in 3000 ms)");
  expect(logs[2]).toContain("[airlock] try 3 succeeded");
  // The default is the latest try.
  expect((await project.cli(["tasks", "logs", "retrying", summary.runId, "flaky"])).stdout).toBe(logs[2]);
  // A retry never starts before its delay has passed.
  const at = logs.map((l) => Number(/try \d at (\d+)/.exec(l)?.[1]));
  expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(2000);
  expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(3000);

  const missing = await project.cli(["tasks", "logs", "retrying", summary.runId, "flaky", "--try", "4"]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("try numbers start at 1");
});
