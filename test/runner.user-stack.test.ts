/**
 * A failing fn task's stack trace names the user's DAG file and line (through the bundled DAG module's source map)
 * and never Airlock's runner, SDK or Node's internals — on the process backend and in the bubblewrap sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

// Line numbers matter: the throw is on line 6, the call from the task on line 11.
const DAG = `import { dag, fn } from "airlock";

// A helper in the DAG file, so that the trace has two user frames.
function helper(x: number): number {
  const limit = 1;
  if (x > limit) throw new RangeError("x is above the limit");
  return x;
}

export default dag({ id: "traced", schedule: null }, () => {
  fn({ id: "explode", run: async () => helper(2) });
});
`;

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "traced.ts": DAG } });
});
afterAll(() => project.cleanup());

describe("stack traces of fn tasks", () => {
  it.each(["process", "sandbox"])("on %s name the DAG file's lines and no Airlock frame", async (backend) => {
    const t = await project.cliJson<{ runId: string; tasks: Array<{ state: string }> }>(["dags", "test", "traced", "--backend", backend, "--json"]);
    expect(t.code).toBe(1);
    expect(t.json.tasks[0]?.state).toBe("failed");
    const log = (await project.cli(["tasks", "logs", "traced", t.json.runId, "explode"])).stdout;
    expect(log).toContain("RangeError: x is above the limit");
    const frames = log.split("\n").filter((l) => /^\s+at /.test(l));
    expect(frames[0]).toMatch(/at helper \(.*dags\/traced\.ts:6:\d+\)$/);
    expect(frames[1]).toMatch(/at run \(.*dags\/traced\.ts:11:\d+\)$/);
    expect(frames.filter((f) => !/dags\/traced\.ts:\d+:\d+\)?$/.test(f))).toEqual([]);
    expect(log).not.toMatch(/runner\.mjs|runner-chunks|node:internal|\/dist\//);
  }, 120_000);
});
