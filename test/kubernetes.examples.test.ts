/**
 * The examples and the kubernetesPod operator on the real test cluster, through the real CLI:
 * `airlock dags test <dag> --backend kubernetes` with the DAG files unchanged. Environment images reach the
 * cluster through the local registry (built and pushed on first use).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";
import { kubernetesFixture, type KubernetesFixture } from "./helpers/kubernetes-backend.js";
import { kubectl } from "./helpers/kubernetes.js";

interface Summary {
  runId: string;
  state: string;
  tasks: Array<{ taskId: string; state: string; isolation: string | null; xcom: any }>;
}

let fx: KubernetesFixture;
let project: Project;
let env: Record<string, string>;

async function dagsTest(dagId: string, extra: string[] = ["--backend", "kubernetes"]) {
  const r = await project.cliJson<Summary>(["dags", "test", dagId, "--json", ...extra], { env, timeoutMs: 600_000 });
  const task = (id: string) => {
    const t = r.json.tasks.find((x) => x.taskId === id);
    if (!t) throw new Error(`no task ${id} in ${JSON.stringify(r.json)}\n${r.stderr}`);
    return t;
  };
  return { ...r, task };
}

const POD_DAG = `
import { dag, kubernetesPod } from "airlock";
export default dag({ id: "pods", schedule: null, startDate: "2026-01-01" }, () => {
  const write = kubernetesPod({
    id: "write_xcom", image: "{{ params.image }}", imagePullPolicy: "IfNotPresent",
    command: ["/bin/sh", "-c"], args: ['echo "token is $TOKEN"; echo "{\\\\"day\\\\": \\\\"{{ ds }}\\\\", \\\\"n\\\\": 3}" > /airlock/xcom/return.json'],
    secretEnv: { TOKEN: "{{ var.value.api_token }}" }, grants: { variables: ["api_token"] }, labels: { team: "data" },
  });
  const last = kubernetesPod({ id: "last_line", image: "{{ params.image }}", command: ["/bin/sh", "-c", "echo first; echo last line"] });
  const skip = kubernetesPod({ id: "skip", image: "{{ params.image }}", command: ["/bin/sh", "-c", "exit 99"], skipOnExitCode: 99 });
  write.then(last);
  last.then(skip);
});
`;

describe("kubernetes: examples and the kubernetesPod operator", { timeout: 1_200_000 }, () => {
  beforeAll(async () => {
    fx = await kubernetesFixture("examples");
    project = createProject({ examples: true, dags: { "pods.ts": POD_DAG } });
    const k = fx.config.kubernetes;
    env = {
      AIRLOCK__KUBERNETES__KUBECONFIG: fx.kubeconfig, AIRLOCK__KUBERNETES__NAMESPACE: fx.namespace,
      AIRLOCK__KUBERNETES__REGISTRY: fx.registry, AIRLOCK__KUBERNETES__POD_TEMPLATE: String(k.podTemplate),
      AIRLOCK__KUBERNETES__STARTUP_TIMEOUT: "120s",
    };
  }, 900_000);
  afterAll(async () => {
    await project?.cleanup();
    await fx?.cleanup();
  });

  it("dependency_isolation: lodash 3 on Node 18 and lodash 4 on Node 22, each from its environment's image", async () => {
    const { json, task, stderr } = await dagsTest("dependency_isolation");
    expect(json.state, stderr).toBe("success");
    expect(task("lodash3_node18").isolation).toBe("kubernetes");
    expect(task("lodash3_node18").xcom).toMatchObject({ lodash: expect.stringMatching(/^3\./), node: expect.stringMatching(/^v18\./) });
    expect(task("lodash4_node22").xcom).toMatchObject({ lodash: expect.stringMatching(/^4\./), node: expect.stringMatching(/^v22\./) });
  });

  it("env deploy builds when no image exists and pushes to kubernetes.registry by default", async () => {
    const r = await project.cli(["env", "deploy", "lodash4", "--json"], { env, timeoutMs: 600_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: "lodash4", reference: expect.stringContaining(`${fx.registry}/`), digest: expect.stringMatching(/^sha256:/) });
  });

  it("the core examples pass unchanged", async () => {
    const ops = await dagsTest("operators");
    expect(ops.json.state, ops.stderr).toBe("success");
    expect(ops.task("greet").xcom).toBe("hello world from /tmp");
    expect(ops.task("greet").isolation).toBe("kubernetes");
    expect(ops.task("nothing_to_do").state).toBe("skipped");
    const branching = await dagsTest("branching");
    expect(branching.json.state, JSON.stringify(branching.json)).toBe("success");
    const templating = await project.cliJson<Summary>(["dags", "test", "templating", "--json", "--backend", "kubernetes"], {
      env: { ...env, AIRLOCK_CONN_WAREHOUSE: "postgres://etl@warehouse.internal:5432/analytics" }, timeoutMs: 600_000,
    });
    expect(templating.json.state, JSON.stringify(templating.json)).toBe("success");
  });

  it("kubernetesPod: secretEnv from a variable never in the spec, XCom from return.json or the last line, skipOnExitCode", async () => {
    const { image } = await import("../src/backends/kubernetes/images.js").then((m) => m.clusterImage(fx.config, null, () => undefined));
    const r = await project.cliJson<Summary>(["dags", "test", "pods", "--json", "--conf", JSON.stringify({ image })], {
      env: { ...env, AIRLOCK_VAR_API_TOKEN: "s3cr3t-token-value", AIRLOCK__KUBERNETES__ON_FINISH: "keep" }, timeoutMs: 600_000,
    });
    expect(r.json.state, `${JSON.stringify(r.json)}\n${(await project.cli(["tasks", "logs", "pods", r.json.runId, "write_xcom"], { env })).stdout}`).toBe("success");
    const t = (id: string) => r.json.tasks.find((x) => x.taskId === id);
    expect(t("write_xcom")?.xcom).toEqual({ day: expect.stringMatching(/^\d{4}-\d\d-\d\d$/), n: 3 });
    expect(t("last_line")?.xcom).toBe("last line");
    expect(t("skip")?.state).toBe("skipped");
    // Kept pods (onFinish: keep) show what a user would see: no secret in the spec, events or log.
    const pods = await kubectl(["get", "pods", "-n", fx.namespace, "-l", "airlock/task=write_xcom", "-o", "json"]);
    expect(pods).toContain('"team": "data"');
    expect(pods).not.toContain("s3cr3t-token-value");
    const name = (JSON.parse(pods) as { items: Array<{ metadata: { name: string } }> }).items[0]?.metadata.name ?? "";
    expect(await kubectl(["describe", "pod", "-n", fx.namespace, name])).not.toContain("s3cr3t-token-value");
    const logs = await project.cli(["tasks", "logs", "pods", JSON.parse(r.stdout).runId, "write_xcom"], { env });
    expect(logs.stdout).toContain("token is ***");
    expect(logs.stdout).not.toContain("s3cr3t-token-value");
  });
});
