/**
 * A project for the python suites: the examples (python_versions with its two numpy environments) plus a DAG of
 * python tasks whose code is test/fixtures/python/features.py, a connection and a variable.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { createProject, ROOT, type Project } from "./project.js";

/** The connection's password: must never be seen unmasked in logs or XComs. */
export const PASSWORD = "s3cr3t-pw-4711";

/** The DAG of python tasks; `backend` is every task's. */
function featuresDag(backend: string, projectDir: string): string {
  return `import { dag, fn, isolated, python } from "airlock";
export default dag({ id: "py_features", params: { n: 2 }, defaultArgs: { backend: "${backend}" } }, () => {
  const up = fn({ id: "up", run: async () => ({ rows: 3 }) });
  const ctx = python({
    id: "ctx", callable: "pyjobs/features.py:context_fields", environment: "numpy2",
    kwargs: { day: "{{ ds }}", n: "{{ params.n }}", nested: { when: "{{ ds_nodash }}" } },
    grants: { variables: ["greeting"], connections: ["db"] },
  });
  up.then(ctx);
  python({ id: "not_granted", callable: "pyjobs/features.py:read_other", environment: "numpy2" });
  python({ id: "boom", callable: "pyjobs/features.py:boom", environment: "numpy2" });
  const big = python({ id: "big", callable: "pyjobs/features.py:big", environment: "numpy2" });
  big.then(python({ id: "check_big", callable: "pyjobs/features.py:check_big", environment: "numpy2" }));
  python({ id: "sealed", callable: "pyjobs/features.py:sealed", environment: "numpy2", kwargs: { project: ${JSON.stringify(projectDir)} } });
  isolated(python({ id: "in_env", callable: "pyjobs/features.py:numpy_version" }), { environment: "numpy1", resources: { memory: "512Mi" } });
});
`;
}

/** A project with the examples and the py_features DAG whose tasks run on `backend`. */
export function pythonProject(backend: "process" | "sandbox" | "docker" | "kubernetes", config: Record<string, unknown> = {}): Project {
  const project = createProject({
    examples: true,
    config,
    env: { AIRLOCK_VAR_GREETING: "hello", AIRLOCK_CONN_DB: `postgres://etl:${PASSWORD}@db.example.com:5432/warehouse?sslmode=require` },
  });
  project.writeFile("dags/pyjobs/features.py", readFileSync(path.join(ROOT, "test", "fixtures", "python", "features.py"), "utf8"));
  project.writeDag("py_features.ts", featuresDag(backend, project.dir));
  return project;
}

/** A task's summary in `dags test --json`. */
export interface TaskSummary {
  taskId: string;
  state: string;
  tryNumber: number;
  isolation: string | null;
  xcom: any;
}

/** Runs `dags test <dagId> --json` and returns the tasks by id, plus a reader of their logs. */
export async function testDag(project: Project, dagId: string, extra: string[] = []): Promise<{ state: string; runId: string; task: (id: string) => TaskSummary; logs: (id: string) => Promise<string> }> {
  const r = await project.cliJson<{ state: string; runId: string; tasks: TaskSummary[] }>(["dags", "test", dagId, "--json", ...extra], { timeoutMs: 600_000 });
  const task = (id: string) => {
    const t = r.json.tasks.find((x) => x.taskId === id);
    if (!t) throw new Error(`no task ${id} in ${JSON.stringify(r.json).slice(0, 2000)}`);
    return t;
  };
  const logs = async (id: string) => (await project.cli(["tasks", "logs", dagId, r.json.runId, id])).stdout;
  return { state: r.json.state, runId: r.json.runId, task, logs };
}
