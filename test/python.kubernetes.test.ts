/**
 * Python tasks on the kubernetes backend, through the real CLI and the real test cluster: each Python environment's
 * image (built with Docker, pushed to the local registry) brings its interpreter and venv; the Python runner comes
 * with the runner bundle, the task's code in the payload Secret. python_versions runs green; context, grants,
 * masking and tracebacks hold; a 64 MiB result leaves the pod through exec and reaches the next pod the same way;
 * a memory limit is enforced by the kubelet (OOMKilled → MemoryLimitExceeded).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubernetesFixture, type KubernetesFixture } from "./helpers/kubernetes-backend.js";
import type { Project } from "./helpers/project.js";
import { PASSWORD, pythonProject, testDag } from "./helpers/python-dag.js";

let fx: KubernetesFixture;
let project: Project;

describe("python tasks on the kubernetes backend", { timeout: 1_200_000 }, () => {
  beforeAll(async () => {
    fx = await kubernetesFixture("python");
    const k = fx.config.kubernetes;
    project = pythonProject("kubernetes", {
      kubernetes: { kubeconfig: fx.kubeconfig, namespace: fx.namespace, registry: fx.registry, podTemplate: k.podTemplate, startupTimeout: "300s" },
    });
  }, 900_000);
  afterAll(async () => {
    await project?.cleanup();
    await fx?.cleanup();
  });

  it("python_versions: numpy 1.26 and 2.2, each from its environment's image", async () => {
    const run = await testDag(project, "python_versions", ["--backend", "kubernetes"]);
    expect(run.state, await run.logs("numpy1")).toBe("success");
    expect(run.task("numpy1")).toMatchObject({ isolation: "kubernetes", xcom: { numpy: "1.26.4", label: "legacy", sum: 55 } });
    expect(run.task("numpy2")).toMatchObject({ isolation: "kubernetes", xcom: { numpy: "2.2.6", label: "current", sum: 55 } });
    expect(run.task("compare").xcom).toEqual({ numpy1: "1.26.4", numpy2: "2.2.6" });
    // The image's interpreter (Debian bookworm's 3.11), not the host's.
    expect(run.task("numpy1").xcom.python).toMatch(/^3\.11\.\d+$/);
    expect(await run.logs("numpy1")).toContain("INFO jobs.numpy_report: legacy: numpy 1.26.4 on Python 3.11");
  });

  it("context, grants, masking, tracebacks, 64 MiB results both ways, and a memory limit", async () => {
    project.writeDag("py_k8s_hog.ts", `import { dag, python } from "airlock";
export default dag({ id: "py_k8s_hog", defaultArgs: { backend: "kubernetes", environment: "numpy2" } }, () => {
  python({ id: "hog", callable: "pyjobs/features.py:hog_memory", resources: { memory: "256Mi" } });
});
`);
    const [run, hog] = await Promise.all([testDag(project, "py_features"), testDag(project, "py_k8s_hog")]);
    const ctx = run.task("ctx");
    expect(ctx.state, await run.logs("ctx")).toBe("success");
    expect(ctx.isolation).toBe("kubernetes");
    expect(ctx.xcom).toMatchObject({ n: "2", params: { n: 2 }, try_number: 1, up: { rows: 3 }, greeting: "hello" });
    expect(ctx.xcom.conn).toEqual({ host: "db.example.com", login: "etl", port: 5432, schema: "warehouse", extra: { sslmode: "require" }, password: "***" });
    const ctxLog = await run.logs("ctx");
    expect(ctxLog).toContain("WARNING features: warned for");
    expect(ctxLog).toContain("the password is ***");
    expect(ctxLog).not.toContain(PASSWORD);

    expect(run.task("not_granted").state).toBe("failed");
    expect(await run.logs("not_granted")).toContain('NotGrantedError: variable "other" was not granted to task "not_granted"');
    const boom = await run.logs("boom");
    expect(boom).toContain('File "pyjobs/features.py", line 31, in boom');
    expect(boom).toContain("IndexError: list index out of range");

    const big = run.task("big");
    expect(big.state).toBe("success");
    expect(big.xcom).toHaveLength(64 * 1024 * 1024);
    expect(run.task("check_big").xcom).toEqual({ length: 64 * 1024 * 1024, sha256: createHash("sha256").update(big.xcom as string).digest("hex"), equal: true });
    expect(await run.logs("check_big")).toMatch(/1 upstream XCom\(s\) of 65536 KiB copied into the pod/);
    expect(run.task("in_env").xcom.numpy).toBe("1.26.4");
    // Sealed: the pod sees none of the orchestrator's project, config or store.
    expect(run.task("sealed").xcom.readable).toEqual([]);
    expect(run.task("sealed").xcom.env).not.toContain("AIRLOCK_VAR_GREETING");

    expect(hog.task("hog").state).toBe("failed");
    expect(await hog.logs("hog")).toMatch(/MemoryLimitExceeded: memory limit exceeded[\s\S]*256Mi/);
  });
});
