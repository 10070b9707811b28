/**
 * triggerDag through `airlock standalone`: the orchestrator creates the other DAG's run with the rendered conf,
 * waits for it when asked (success, failure), and an unknown DAG or a conf its params reject fails the task with a
 * message naming the fix. No task process is started for the trigger.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project, type Standalone } from "./helpers/project.js";

const CHILD = `import { bash, dag } from "airlock";
export default dag({ id: "child", params: { day: "", fail: false, n: 1 },
  paramsSchema: { type: "object", properties: { n: { type: "integer", maximum: 10 } } } }, () => {
  bash({ id: "work", command: "echo 'day={{ params.day }}'; if [ '{{ params.fail }}' = 'True' ] || [ '{{ params.fail }}' = 'true' ]; then exit 3; fi" });
});
`;
const PARENT = `import { dag, fn, triggerDag } from "airlock";
export default dag({ id: "parent", params: { fail: false, target: "child", n: 1 } }, () => {
  const pick = fn({ id: "pick", run: async (ctx) => ctx.params.fail });
  const trigger = triggerDag({ id: "trigger", dagId: "child", wait: true, pokeInterval: "200ms",
    conf: { day: "{{ ds }}", fail: "{{ ti.xcom_pull('pick') }}", n: 3 } });
  pick.then(trigger);
});
`;
const UNKNOWN = `import { dag, triggerDag } from "airlock";
export default dag({ id: "unknown_target" }, () => {
  triggerDag({ id: "trigger", dagId: "no_such_dag" });
});
`;
const BAD_CONF = `import { dag, triggerDag } from "airlock";
export default dag({ id: "bad_conf" }, () => {
  triggerDag({ id: "trigger", dagId: "child", conf: { n: 50 } });
});
`;

type Summary = { state: string; runId: string; tasks: Array<{ taskId: string; state: string; isolation: string | null; xcom: any }> };
type Runs = { items: Array<{ runId: string; state: string; conf: Record<string, unknown> }> };

let project: Project;
let standalone: Standalone;
beforeAll(async () => {
  project = createProject({ dags: { "child.ts": CHILD, "parent.ts": PARENT, "unknown.ts": UNKNOWN, "bad_conf.ts": BAD_CONF } });
  standalone = await project.startStandalone();
}, 60_000);
afterAll(async () => {
  await standalone?.stop();
  await project.cleanup();
});

async function triggerAndWait(dagId: string, conf: Record<string, unknown> = {}): Promise<Summary> {
  return (await project.cliJson<Summary>(["dags", "trigger", dagId, "--wait", "--json", "--conf", JSON.stringify(conf)], { timeoutMs: 90_000 })).json;
}

describe("triggerDag", () => {
  it("creates the other DAG's run with the rendered conf and waits for its success", async () => {
    const s = await triggerAndWait("parent");
    expect(s.state).toBe("success");
    const t = s.tasks.find((x) => x.taskId === "trigger");
    expect(t).toMatchObject({ state: "success", isolation: "inline", xcom: { dagId: "child", state: "success" } });
    const runs = (await project.cliJson<Runs>(["runs", "list", "child", "--json"])).json.items;
    const child = runs.find((r) => r.runId === t?.xcom.runId);
    expect(child?.state).toBe("success");
    expect(child?.conf).toMatchObject({ fail: "false", n: 3 });
    expect(String(child?.conf.day)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const log = await project.cli(["tasks", "logs", "parent", s.runId, "trigger"]);
    expect(log.stdout).toContain(`triggered run ${t?.xcom.runId} of child`);
    expect(log.stdout).toContain("waiting for run");
  });

  it("fails when the triggered run fails", async () => {
    const s = await triggerAndWait("parent", { fail: true });
    expect(s.state).toBe("failed");
    expect(s.tasks.find((x) => x.taskId === "trigger")?.state).toBe("failed");
    const log = await project.cli(["tasks", "logs", "parent", s.runId, "trigger"]);
    expect(log.stdout).toMatch(/TriggeredRunFailed: the triggered run triggered__child__\w+ of DAG "child" failed/);
  });

  it("an unknown DAG or a conf the other DAG's params reject fails the task and says why", async () => {
    const unknown = await triggerAndWait("unknown_target");
    expect(unknown.state).toBe("failed");
    const log = await project.cli(["tasks", "logs", "unknown_target", unknown.runId, "trigger"]);
    expect(log.stdout).toContain('could not trigger DAG "no_such_dag": DAG "no_such_dag" was not found');
    const bad = await triggerAndWait("bad_conf");
    expect(bad.state).toBe("failed");
    const badLog = await project.cli(["tasks", "logs", "bad_conf", bad.runId, "trigger"]);
    expect(badLog.stdout).toContain("conf.n must be <= 10");
  });
});
