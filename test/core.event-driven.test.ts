/**
 * When a task finishes, its successors are evaluated at once (event-driven), not on the scheduler's next tick:
 * with a poll interval of ten minutes, a triggered chain with a fan-out and a fan-in still runs to its end, in
 * dependency order.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, type Project, type Standalone } from "./helpers/project.js";

let project: Project;
let standalone: Standalone;

beforeAll(async () => {
  project = createProject({ config: { scheduler: { pollIntervalMs: 600_000 } } });
  const order = path.join(project.dir, "order.txt");
  const step = (id: string) => `bash({ id: "${id}", command: "echo ${id} >> ${order}; echo ${id}" })`;
  project.writeDag("chain.ts", `import { bash, chain, dag } from "airlock";
export default dag({ id: "event_driven" }, () => {
  chain(${step("first")}, ${step("second")}, [${step("left")}, ${step("right")}], ${step("joined")}, ${step("last")});
});
`);
  standalone = await project.startStandalone();
});
afterAll(async () => {
  await standalone?.stop();
  await project.cleanup();
});

it("runs a whole chain while the scheduler's poll interval is ten minutes", async () => {
  // Through the server's API, so the trigger itself wakes the scheduler; everything after is driven by task ends.
  const r = await project.cliJson(["dags", "trigger", "event_driven", "--api-url", standalone.url, "--wait", "--json"], { timeoutMs: 150_000 });
  expect(r.code).toBe(0);
  expect(r.json.state).toBe("success");
  const order = readFileSync(path.join(project.dir, "order.txt"), "utf8").trim().split("\n");
  expect(order).toHaveLength(6);
  expect(order.slice(0, 2)).toEqual(["first", "second"]);
  expect(order.slice(2, 4).sort()).toEqual(["left", "right"]);
  expect(order.slice(4)).toEqual(["joined", "last"]);
}, 160_000);
