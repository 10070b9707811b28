/**
 * The kubernetes backend on the real test cluster: real pods, the real runner, real kubelet logs and exec.
 * Each suite works in a namespace of its own, deleted at the end with everything in it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeClient } from "../src/backends/kubernetes/client.js";
import { createKubernetesBackend } from "../src/backends/kubernetes/index.js";
import type { Backend, LaunchRequest, RunningTry } from "../src/backends/types.js";
import { decide, readEvents } from "../src/executor/outcome.js";
import { launchRequest, serializedTask } from "./helpers/docker-runner.js";
import { kubernetesFixture, launchInChild, type KubernetesFixture } from "./helpers/kubernetes-backend.js";
import { kubectl } from "./helpers/kubernetes.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
let fx: KubernetesFixture;
let backend: Backend;
let core: CoreV1Api;

const taskLines = (r: LaunchRequest) => readFileSync(r.rawLogPath, "utf8").split("\n").filter((l) => l && !l.startsWith("[airlock]"));
const bash = (id: string, command: string, extra: Partial<Parameters<typeof launchRequest>[1]> = {}) =>
  launchRequest(fx.stateDir, { dagId: "k8s_backend", task: { ...serializedTask(id, "bash", { command }), backend: "kubernetes" }, ...extra });
const outcome = (r: LaunchRequest, exit: Awaited<RunningTry["exited"]>, killedFor: string | null = null) =>
  decide({ events: readEvents(r.eventsPath), exit, scratchDir: r.scratchDir, killedFor });

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const gone = async (kind: "pod" | "secret", name: string) =>
  (kind === "pod" ? core.readNamespacedPod({ name, namespace: fx.namespace }) : core.readNamespacedSecret({ name, namespace: fx.namespace })).then(() => false, () => true);

describe("kubernetes backend", { timeout: 600_000 }, () => {
  beforeAll(async () => {
    fx = await kubernetesFixture("backend");
    backend = createKubernetesBackend(fx.config);
    core = createKubeClient(fx.config.kubernetes).core;
    expect(await backend.check()).toEqual({ ok: true });
  }, 900_000);
  afterAll(async () => {
    await backend?.close();
    await fx?.cleanup();
  });

  it("runs a bash try in a pod: live log, events, no secret in the pod, its Secret owned by the pod, pod deleted", async () => {
    const r = bash("hello", "echo hello from the pod; echo 42");
    r.payload.grants.variables = { token: "granted-secret-value" };
    const running = await backend.launch(r);
    const name = String(running.handle.podName);
    const spec = JSON.stringify(await core.readNamespacedPod({ name, namespace: fx.namespace }));
    const secret = await core.readNamespacedSecret({ name, namespace: fx.namespace });
    const exit = await running.exited;
    expect(exit.code).toBe(0);
    expect(outcome(r, exit)).toMatchObject({ kind: "success", xcomJson: '"42"' });
    expect(taskLines(r)).toEqual(["hello from the pod", "42"]);
    expect(spec).not.toContain("granted-secret-value");
    expect(spec).toContain('"automountServiceAccountToken":false');
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Pod", name });
    const events = await kubectl(["get", "events", "-n", fx.namespace, "-o", "json"]);
    expect(events).not.toContain("granted-secret-value");
    await until("the pod and its Secret to be deleted", async () => (await gone("pod", name)) && (await gone("secret", name)));
  });

  it("round-trips a 64 MiB result without the log stream (exec from the pod's scratch)", async () => {
    const moduleFile = path.join(fx.stateDir, "big_dag.mjs");
    writeFileSync(moduleFile, [
      'import { dag, fn } from "airlock";',
      'export default dag({ id: "k8s_backend", schedule: null, startDate: "2026-01-01" }, () => {',
      '  fn({ id: "big", run: () => { let s = ""; for (let i = 0; i < 64 * 1024; i++) s += String(i % 10).repeat(1024); return s; } });',
      "});",
    ].join("\n"));
    const r = launchRequest(fx.stateDir, { dagId: "k8s_backend", task: { ...serializedTask("big", "fn", {}), backend: "kubernetes" }, resources: { memory: "1Gi" } });
    r.payload.dagModule = moduleFile;
    const exit = await (await backend.launch(r)).exited;
    const result = outcome(r, exit);
    expect(result.kind).toBe("success");
    const xcom = JSON.parse((result as { xcomJson: string }).xcomJson) as string;
    expect(xcom.length).toBe(64 * 1024 * 1024);
    expect(xcom.slice(7 * 1024, 7 * 1024 + 3)).toBe("777");
    expect(xcom.slice(-3)).toBe(String((64 * 1024 - 1) % 10).repeat(3));
  });

  it("ends with named errors quoting the pod's events: image not on the node, unschedulable, OOMKilled", async () => {
    const absent = launchRequest(fx.stateDir, { dagId: "k8s_backend", task: { ...serializedTask("absent", "kubernetes_pod", { image: "airlock-test/absent:1", imagePullPolicy: "Never" }), backend: "kubernetes" } });
    const huge = launchRequest(fx.stateDir, { dagId: "k8s_backend", task: { ...serializedTask("huge", "bash", { command: "true" }), backend: "kubernetes" }, resources: { memory: "900Gi" } });
    const oom = bash("oom", "node -e 'const a = []; for (;;) a.push(Buffer.alloc(8 * 1024 * 1024, 1))'", { resources: { memory: "64Mi" } });
    const [a, h, o] = await Promise.all([absent, huge, oom].map(async (r) => outcome(r, await (await backend.launch(r)).exited)));
    expect(a).toMatchObject({ kind: "failed", error: { type: "PodImageMissing" } });
    expect((a as { error: { message: string } }).error.message).toMatch(/ErrImageNeverPull[\s\S]*load-image\.sh airlock-test\/absent:1/);
    expect(h).toMatchObject({ kind: "failed", error: { type: "PodUnschedulable" } });
    expect((h as { error: { message: string } }).error.message).toMatch(/Insufficient memory[\s\S]*lower the task's resources/);
    expect(o).toMatchObject({ kind: "failed", error: { type: "MemoryLimitExceeded" } });
    expect((o as { error: { message: string } }).error.message).toContain("64Mi");
  });

  it("kill deletes the pod at once even when the task ignores SIGTERM; deletion by someone else is named", async () => {
    const stubborn = bash("stubborn", "trap '' TERM; echo started; sleep 300");
    const running = await backend.launch(stubborn);
    await until("the task to start", () => taskLines(stubborn).includes("started"));
    await running.kill("execution timeout of 1 s exceeded");
    const exit = await running.exited;
    expect(exit.signal).toBe("SIGKILL");
    expect(await gone("pod", String(running.handle.podName))).toBe(true);

    const victim = bash("victim", "echo started; sleep 300");
    const v = await backend.launch(victim);
    await until("the task to start", () => taskLines(victim).includes("started"));
    await kubectl(["delete", "pod", "-n", fx.namespace, String(v.handle.podName), "--wait=false"]);
    expect(outcome(victim, await v.exited)).toMatchObject({ kind: "failed", error: { type: "PodDeleted" } });
  });

  it("adopts a pod after the orchestrator was killed -9: resumes the log without a line twice or missing, deletes the pod", async () => {
    const r = bash("adopted", "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; sleep 0.5; done; echo done");
    const { handle, kill9 } = await launchInChild(r, fx.config);
    await until("two lines in the raw log", () => taskLines(r).length >= 2);
    await kill9();

    const restarted = createKubernetesBackend(fx.config);
    const adopted = await restarted.adopt(handle, r);
    expect(adopted).not.toBeNull();
    const exit = await adopted!.exited;
    expect(exit.code).toBe(0);
    expect(taskLines(r)).toEqual([...Array.from({ length: 10 }, (_v, i) => `line ${i + 1}`), "done"]);
    const ev = readEvents(r.eventsPath);
    expect(ev.filter((e) => e.type === "result")).toHaveLength(1);
    await until("the pod to be deleted", () => gone("pod", String(handle.podName)));
    expect(await restarted.adopt(handle, r)).toBeNull();
  });

  it("check() names the missing permission; the README's Role is exactly enough", async () => {
    const readme = readFileSync(path.join(HERE, "..", "README.md"), "utf8");
    const role = /```yaml\n(apiVersion: rbac[\s\S]*?)```/.exec(readme)?.[1]?.replaceAll("airlock-tasks", fx.namespace);
    expect(role).toBeDefined();
    await kubectl(["create", "serviceaccount", "airlock", "-n", fx.namespace]);
    const token = (await kubectl(["create", "token", "airlock", "-n", fx.namespace])).trim();
    const admin = readFileSync(fx.kubeconfig, "utf8");
    const server = /server: (\S+)/.exec(admin)?.[1];
    const ca = /certificate-authority-data: (\S+)/.exec(admin)?.[1];
    const kubeconfig = path.join(fx.stateDir, "limited.kubeconfig");
    writeFileSync(kubeconfig, [
      "apiVersion: v1", "kind: Config", "current-context: limited",
      `clusters: [{ name: c, cluster: { server: "${server}", certificate-authority-data: "${ca}" } }]`,
      `users: [{ name: airlock, user: { token: "${token}" } }]`,
      `contexts: [{ name: limited, context: { cluster: c, user: airlock, namespace: ${fx.namespace} } }]`, "",
    ].join("\n"));
    const limited = { ...fx.config, kubernetes: { ...fx.config.kubernetes, kubeconfig } };
    // Everything but pods/exec: the hint names exactly that.
    await kubectl(["apply", "-f", "-"], (role as string).replace(/^ {2}- \{ apiGroups: \[""\], resources: \[pods\/exec\].*\n/m, ""));
    const without = await createKubernetesBackend(limited).check();
    expect(without.ok).toBe(false);
    expect((without as { hint: string }).hint).toMatch(/may not create pods\/exec, get pods\/exec in namespace .*apply the Role/);
    await kubectl(["apply", "-f", "-"], role);
    const allowed = createKubernetesBackend(limited);
    expect(await allowed.check()).toEqual({ ok: true });
    // And those verbs are enough for a whole try.
    const r = bash("limited", "echo through the Role");
    expect((await (await allowed.launch(r)).exited).code).toBe(0);
    expect(taskLines(r)).toEqual(["through the Role"]);
  });

  it("refuses a second pod for the same try", async () => {
    const r = bash("once", "sleep 30");
    const first = await backend.launch(r);
    await expect(backend.launch(r)).rejects.toThrow(/already exists: a try never runs twice/);
    await first.kill("test over");
  });
});
