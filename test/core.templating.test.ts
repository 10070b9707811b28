/**
 * A templated field that names something undefined fails its task (not the run's other tasks), and the error —
 * in the try's log and in `dags test` output — names the DAG, the task, the field and the template.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const DAG = `import { bash, dag } from "airlock";
export default dag({ id: "templated", params: { known: "yes" } }, () => {
  bash({ id: "undefined_param", command: "echo {{ params.known }} {{ params.missing }}" });
  bash({ id: "undefined_name", command: "echo ok", env: { TARGET: "s3://bucket/{{ ds }}/{{ bucket_name }}" } });
  bash({ id: "fine", command: "echo {{ params.known }} {{ params.missing | default('fallback') }}" });
});
`;

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "templated.ts": DAG } });
});
afterAll(async () => {
  await project.cleanup();
});

describe("templating errors", () => {
  it("fail the task naming field and template; other tasks run", async () => {
    const r = await project.cliJson(["dags", "test", "templated", "--json"]);
    expect(r.code).toBe(1);
    const byId = Object.fromEntries((r.json.tasks as Array<{ taskId: string; state: string; xcom: unknown }>).map((t) => [t.taskId, t]));
    expect(byId.undefined_param?.state).toBe("failed");
    expect(byId.undefined_name?.state).toBe("failed");
    expect(byId.fine).toMatchObject({ state: "success", xcom: "yes fallback" });

    const param = await project.cli(["tasks", "logs", "templated", r.json.runId, "undefined_param"]);
    expect(param.stdout).toContain(`TemplateError: DAG "templated", task "undefined_param", field "command": "params.missing" is undefined in template "echo {{ params.known }} {{ params.missing }}"`);
    expect(param.stdout).toContain("Define it in the DAG's params");

    const name = await project.cli(["tasks", "logs", "templated", r.json.runId, "undefined_name"]);
    expect(name.stdout).toContain(`field "env.TARGET": "bucket_name" is undefined in template "s3://bucket/{{ ds }}/{{ bucket_name }}"`);
  });

  it("a run conf can supply the missing param", async () => {
    const r = await project.cliJson(["dags", "test", "templated", "--json", "--conf", '{"missing": "from-conf"}']);
    const param = (r.json.tasks as Array<{ taskId: string; state: string; xcom: unknown }>).find((t) => t.taskId === "undefined_param");
    expect(param).toMatchObject({ state: "success", xcom: "yes from-conf" });
  });
});
