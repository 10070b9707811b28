/**
 * executionTimeout kills a try's whole process tree: background jobs, nohup'd processes and daemons that left
 * the tree and the process group with setsid and a double fork. Processes a successful task leaves behind end
 * with it too. Found by a marker in their command lines (argv[0] set with `exec -a`).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, processesNamed, processesWithMarker, sleep, waitUntil, type Project } from "./helpers/project.js";

const M = `airlock-marker-${randomBytes(4).toString("hex")}`;

const spawnAll = (tag: string) => [
  `(exec -a ${M}-${tag}-bg sleep 600) &`,
  `nohup bash -c 'exec -a ${M}-${tag}-nohup sleep 600' >/dev/null 2>&1 &`,
  `(setsid bash -c 'exec -a ${M}-${tag}-setsid sleep 600' &)`,
  `setsid -f bash -c 'exec -a ${M}-${tag}-setsidf sleep 600' >/dev/null 2>&1`,
].join("\n");

const DAG = `import { bash, dag } from "airlock";
export default dag({ id: "timeouts" }, () => {
  bash({ id: "hangs", executionTimeout: "3s", command: ${JSON.stringify(`${spawnAll("t")}\necho started\nexec -a ${M}-t-fg sleep 600`)} });
});
`;
const LEAVES = `import { bash, dag } from "airlock";
export default dag({ id: "leaves_daemons" }, () => {
  bash({ id: "quick", command: ${JSON.stringify(`${spawnAll("s")}\necho done`)} });
});
`;

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "timeouts.ts": DAG, "leaves.ts": LEAVES } });
});
afterAll(async () => {
  await project.cleanup();
});

it("kills every process the try started when its executionTimeout passes", async () => {
  const p = project.spawnCli(["dags", "test", "timeouts", "--json"]);
  // All five were running at some point: otherwise "none left" would prove nothing.
  await waitUntil("the task's processes to start", () => processesNamed(`${M}-t-`).length === 5, 60_000, 50);
  const r = await p.done;
  expect(r.code).toBe(1);
  const summary = JSON.parse(r.stdout) as { runId: string; tasks: Array<{ taskId: string; state: string }> };
  expect(summary.tasks[0]?.state).toBe("failed");
  expect(processesWithMarker(`${M}-t-`)).toEqual([]);
  await sleep(500);
  expect(processesWithMarker(`${M}-t-`)).toEqual([]);
  const log = await project.cli(["tasks", "logs", "timeouts", summary.runId, "hangs"]);
  expect(log.stdout).toContain("started");
  expect(log.stdout).toContain("TaskTimeout: execution timeout of 3 s exceeded: the task and every process it started were killed");
});

it("ends what a successful task left running, without waiting for it", async () => {
  const r = await project.cliJson(["dags", "test", "leaves_daemons", "--json"]);
  expect(r.json.state).toBe("success");
  expect(r.json.tasks[0].xcom).toBe("done");
  expect(processesWithMarker(`${M}-s-`)).toEqual([]);
});
