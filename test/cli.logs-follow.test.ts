/**
 * `airlock tasks logs --follow` streams a running task's lines as they are written: the task prints one line,
 * then waits for a gate file that the test creates only after the follower has shown that line. The follower
 * started before the task did, waits for its first try, and ends when the try ends.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, waitUntil, type Project, type Standalone } from "./helpers/project.js";

let project: Project;
let standalone: Standalone;
const gate = (n: number) => path.join(project.dir, `gate-${n}`);

beforeAll(async () => {
  project = createProject();
  const waitFor = (n: number) => `while [ ! -e ${gate(n)} ]; do sleep 0.05; done`;
  project.writeDag("talk.ts", `import { bash, dag } from "airlock";
export default dag({ id: "talk" }, () => {
  const before = bash({ id: "before", command: ${JSON.stringify(waitFor(0))} });
  const talker = bash({ id: "talker", command: ${JSON.stringify(["echo line-1", waitFor(1), "echo line-2", waitFor(2), "echo line-3"].join("\n"))} });
  before.then(talker);
});
`);
  standalone = await project.startStandalone();
});
afterAll(async () => {
  await standalone?.stop();
  await project.cleanup();
});

it("streams lines of a running task as they arrive, and ends with the try", async () => {
  const runId = (await project.cli(["dags", "trigger", "talk"])).stdout.trim();
  expect(runId).toMatch(/^manual__talk__/);
  const follow = project.spawnCli(["tasks", "logs", "talk", runId, "talker", "--follow"]);
  // The task has not started (it waits for "before"): the follower waits for its first try.
  await waitUntil("the run to start", async () => (await project.cliJson(["tasks", "states", "talk", runId, "--json"])).json.state === "running");
  expect(follow.stdout()).toBe("");
  writeFileSync(gate(0), "");
  await follow.waitFor(/^line-1$/m);
  expect(follow.stdout()).not.toContain("line-2");
  writeFileSync(gate(1), "");
  await follow.waitFor(/^line-2$/m);
  expect(follow.stdout()).not.toContain("line-3");
  writeFileSync(gate(2), "");
  const r = await follow.done;
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/line-1\nline-2\nline-3\n\[airlock\] try 1 succeeded\n$/);
  expect(r.stdout).toMatch(/^\[airlock\] talk\.talker try 1 on process\n/);
});
