/**
 * A pipeline's python node: the callable gets its inputs (dataset paths and params: values) and the paths of its
 * outputs, writes them, and the next node reads what it wrote — between a TypeScript node before and after it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

let project: Project;

beforeAll(() => {
  project = createProject({
    dags: {
      "numbers.ts": `import { node, pipeline } from "airlock";
export default pipeline({ id: "numbers", params: { scale: 10 } }, [
  node({ name: "make", outputs: ["nums"], run: async () => ({ nums: [1, 2, 3, 4] }) }),
  node({ name: "total", python: "nodes/total.py:total", inputs: ["nums", "params:scale"], outputs: ["sum"] }),
  node({ name: "report", inputs: ["sum"], outputs: ["summary"], run: async ({ sum }) => ({ summary: { ...sum, checked: true } }) }),
]);
`,
    },
  });
  mkdirSync(path.join(project.dagsDir, "nodes"));
  writeFileSync(path.join(project.dagsDir, "nodes", "total.py"), `import json

def total(context, inputs, outputs):
    with open(inputs["nums"]) as f:
        nums = json.load(f)
    value = sum(nums) * inputs["params:scale"]
    print(f"total of {len(nums)} numbers: {value}")
    with open(outputs["sum"], "w") as f:
        json.dump({"total": value, "run": context["run_id"]}, f)
    return value
`);
});
afterAll(async () => {
  await project.cleanup();
});

it("a python node reads its inputs and params, writes its output, and the next node reads it", async () => {
  const r = await project.cliJson(["dags", "test", "numbers", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  const byId = Object.fromEntries((r.json.tasks as Array<{ taskId: string; state: string; xcom: unknown }>).map((t) => [t.taskId, t]));
  expect(byId.total?.state).toBe("success");
  expect(byId.total?.xcom).toBe(100);
  expect(byId.report?.xcom).toEqual({ summary: { total: 100, run: r.json.runId, checked: true } });
  const log = await project.cli(["tasks", "logs", "numbers", r.json.runId, "total"]);
  expect(log.stdout).toContain("total of 4 numbers: 100");
  const versions = await project.cliJson(["datasets", "show", "sum", "--json"]);
  expect(versions.code, versions.stderr).toBe(0);
  expect(JSON.stringify(versions.json)).toContain(r.json.runId);
});
