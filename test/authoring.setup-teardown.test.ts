/**
 * Setup and teardown with Airflow's meaning, through the real CLI and API: the teardown runs whatever happened to
 * the work as long as its setup ran, the work decides the run's state, a failed teardown fails the run only when
 * asked, clearing work clears its setup and teardown, and meaningless options are import errors.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api/client.js";
import { createProject, ROOT, waitUntil, type Project } from "./helpers/project.js";

const flags = (strict: boolean) => `import { bash, dag } from "airlock";
export default dag({ id: "${strict ? "strict" : "lenient"}", params: { setupFails: false, teardownFails: false } }, () => {
  const up = bash({ id: "up", setup: true, command: "[ '{{ params.setupFails }}' = 'true' ] && exit 1; echo up" });
  const work = bash({ id: "work", command: "echo work" });
  const other = bash({ id: "other", command: "echo other" });
  const down = bash({ id: "down", teardown: true, ${strict ? "onFailureFailDagrun: true, " : ""}command: "[ '{{ params.teardownFails }}' = 'true' ] && exit 1; echo down" });
  up.then([work, other]);
  work.then(down);
  other.then(down);
});
`;
const NO_SETUP = `import { bash, dag } from "airlock";
export default dag({ id: "no_setup" }, () => { bash({ id: "a", command: "echo" }).then(bash({ id: "t", teardown: true, command: "echo" })); });
`;
const BOTH = `import { bash, dag } from "airlock";
export default dag({ id: "both" }, () => { bash({ id: "x", setup: true, teardown: true, command: "echo" }); });
`;
const FAIL_WITHOUT_TEARDOWN = `import { bash, dag } from "airlock";
export default dag({ id: "fail_without_teardown" }, () => { bash({ id: "x", onFailureFailDagrun: true, command: "echo" }); });
`;

type Summary = { state: string; runId: string; tasks: Array<{ taskId: string; state: string; tryNumber: number; xcom: unknown }> };
const states = (s: Summary) => Object.fromEntries(s.tasks.map((t) => [t.taskId, t.state]));

let project: Project;
beforeAll(() => {
  project = createProject({ dags: {
    "setup_teardown.ts": readFileSync(path.join(ROOT, "examples", "dags", "setup_teardown.ts"), "utf8"),
    "lenient.ts": flags(false), "strict.ts": flags(true), "no_setup.ts": NO_SETUP, "both.ts": BOTH, "fail_without_teardown.ts": FAIL_WITHOUT_TEARDOWN,
  } });
});
afterAll(async () => {
  await project.cleanup();
});

async function dagsTest(dagId: string, conf: Record<string, unknown>): Promise<Summary> {
  return (await project.cliJson<Summary>(["dags", "test", dagId, "--json", "--conf", JSON.stringify(conf)])).json;
}

describe("setup and teardown", () => {
  it("the teardown runs after the work whether it succeeds or fails; the work decides the run", async () => {
    const root = path.join(project.dir, "workspaces");
    const ok = await dagsTest("setup_teardown", { root });
    expect(ok.state).toBe("success");
    expect(states(ok)).toEqual({ create_workspace: "success", fetch: "success", crunch: "success", remove_workspace: "success" });
    expect(ok.tasks.find((t) => t.taskId === "crunch")?.xcom).toBe("15");
    const failed = await dagsTest("setup_teardown", { root, fail: true });
    expect(failed.state).toBe("failed");
    expect(states(failed)).toEqual({ create_workspace: "success", fetch: "success", crunch: "failed", remove_workspace: "success" });
    expect(existsSync(path.join(root, failed.runId))).toBe(false);
    expect(existsSync(path.join(root, ok.runId))).toBe(false);
  });

  it("without a successful setup there is nothing to tear down", async () => {
    const s = await dagsTest("lenient", { setupFails: true });
    expect(s.state).toBe("failed");
    expect(states(s)).toEqual({ up: "failed", work: "upstream_failed", other: "upstream_failed", down: "skipped" });
  });

  it("a failed teardown fails the run only with onFailureFailDagrun", async () => {
    const lenient = await dagsTest("lenient", { teardownFails: true });
    expect(states(lenient)).toMatchObject({ work: "success", down: "failed" });
    expect(lenient.state).toBe("success");
    const strict = await dagsTest("strict", { teardownFails: true });
    expect(states(strict)).toMatchObject({ work: "success", down: "failed" });
    expect(strict.state).toBe("failed");
  });

  it("meaningless setup/teardown options are import errors naming the fix", async () => {
    const { json } = await project.cliJson<{ importErrors: Array<{ fileloc: string; message: string }> }>(["dags", "list", "--json"]);
    const errorOf = (file: string) => json.importErrors.find((e) => e.fileloc === `dags/${file}`)?.message ?? "";
    expect(errorOf("no_setup.ts")).toContain('task "t" in DAG "no_setup" is a teardown without a setup task upstream');
    expect(errorOf("both.ts")).toContain('task "x" in DAG "both" is both a setup and a teardown');
    expect(errorOf("fail_without_teardown.ts")).toContain("onFailureFailDagrun only applies to teardown tasks");
  });

  it("clearing work clears its setup and teardown, not its siblings, and the run succeeds again", async () => {
    const token = "setup-teardown-admin";
    const standalone = await project.startStandalone({ env: { AIRLOCK__API__TOKEN: token } });
    try {
      const client = new ApiClient({ url: standalone.url, token });
      const run = await client.triggerDagRun("lenient");
      expect((await client.waitForRun("lenient", run.runId, { timeoutMs: 60_000 })).state).toBe("success");
      const cleared = await client.clearTask("lenient", run.runId, "work");
      expect([...cleared.cleared].sort()).toEqual(["down", "up", "work"]);
      const tries = await waitUntil("the cleared tasks ran again", async () => {
        const s = (await project.cliJson<Summary>(["tasks", "states", "lenient", run.runId, "--json"])).json;
        return s.state === "success" ? Object.fromEntries(s.tasks.map((t) => [t.taskId, t.tryNumber])) : null;
      }, 60_000, 250);
      expect(tries).toEqual({ up: 2, work: 2, other: 1, down: 2 });
    } finally {
      await standalone.stop();
    }
  });
});
