/**
 * Failure kinds, lifecycle and placement of the kubernetes backend, each on the real test cluster: an image pull
 * from a registry that refuses, a node selector no node has, a taint the pod does not tolerate, a startup timeout,
 * an eviction by the kubelet (ephemeral-storage limit); `onFinish` delete and keepFailed; the reaper of orphaned pods
 * and stray Secrets; a profile's cpu request below its limit.
 */
import { randomBytes } from "node:crypto";
import type { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeClient } from "../src/backends/kubernetes/client.js";
import { clusterImage } from "../src/backends/kubernetes/images.js";
import { createKubernetesBackend } from "../src/backends/kubernetes/index.js";
import { reapOrphanPods } from "../src/backends/kubernetes/reaper.js";
import { LABELS, ownerOf, podName, tryLabels } from "../src/backends/kubernetes/spec.js";
import type { LaunchRequest, RunningTry } from "../src/backends/types.js";
import type { AirlockConfig } from "../src/config/config.js";
import { decide, readEvents } from "../src/executor/outcome.js";
import { withProfile } from "../src/executor/resources.js";
import { launchRequest, serializedTask } from "./helpers/docker-runner.js";
import { kubernetesFixture, type KubernetesFixture } from "./helpers/kubernetes-backend.js";
import { kubectl } from "./helpers/kubernetes.js";

let fx: KubernetesFixture;
let core: CoreV1Api;
let image: string;
const fakeNode = `airlock-fake-${randomBytes(3).toString("hex")}`;
const pool = `tainted-${randomBytes(3).toString("hex")}`;

type Settings = Partial<KubernetesFixture["config"]["kubernetes"]>;
const backendWith = (settings: Settings) => createKubernetesBackend({ ...fx.config, kubernetes: { ...fx.config.kubernetes, ...settings } });
const task = (id: string, kind: "bash" | "kubernetes_pod", args: Record<string, unknown>, extra: Partial<Parameters<typeof launchRequest>[1]> = {}) =>
  launchRequest(fx.stateDir, { dagId: "k8s_failures", task: { ...serializedTask(id, kind, args), backend: "kubernetes" }, ...extra });
const outcome = (r: LaunchRequest, exit: Awaited<RunningTry["exited"]>) => decide({ events: readEvents(r.eventsPath), exit, scratchDir: r.scratchDir, killedFor: null });
type Failed = { kind: "failed"; error: { type: string; message: string } };
const podPhase = (name: string) => core.readNamespacedPod({ name, namespace: fx.namespace }).then((p) => p.status?.phase ?? "?", () => "gone");

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("kubernetes failures, lifecycle and placement", { timeout: 600_000 }, () => {
  beforeAll(async () => {
    fx = await kubernetesFixture("failures");
    core = createKubeClient(fx.config.kubernetes).core;
    image = (await clusterImage(fx.config, null, () => undefined)).image;
    // A node no pod can run on (it has no kubelet): its taint keeps every other pod off it.
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Node",
      metadata: { name: fakeNode, labels: { "airlock-test/pool": pool } },
      spec: { taints: [{ key: "airlock-test/fake", value: pool, effect: "NoSchedule" }] },
    }));
  }, 900_000);
  afterAll(async () => {
    await kubectl(["delete", "node", fakeNode, "--wait=false"]).catch(() => undefined);
    await fx?.cleanup();
  });

  it("names each failure with the pod's own events: pull refused, selector, taint, startup timeout, eviction", async () => {
    const backend = backendWith({ profiles: { gpu: { nodeSelector: { "airlock-test/pool": "gpu" } } } });
    const slow = backendWith({ startupTimeoutMs: 4000 });
    const pull = task("pull", "kubernetes_pod", { image: "127.0.0.1:1/airlock-test/absent:1", command: ["true"] });
    const selector = task("selector", "bash", { command: "true" }, { resources: { profile: "gpu" } });
    const taint = task("taint", "kubernetes_pod", { image, command: ["true"], nodeSelector: { "airlock-test/pool": pool } });
    const stuck = task("stuck", "kubernetes_pod", {
      image, command: ["true"], volumes: [{ name: "absent", configMap: { name: "no-such-configmap" } }], volumeMounts: [{ name: "absent", mountPath: "/absent" }],
    });
    const evicted = task("evicted", "kubernetes_pod", {
      image, command: ["/bin/sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>/dev/null; echo filled; sleep 300"], limits: { "ephemeral-storage": "2Mi" },
    });
    const runs: Array<[LaunchRequest, typeof backend]> = [[pull, backend], [selector, backend], [taint, backend], [stuck, slow], [evicted, backend]];
    const [p, s, t, st, e] = (await Promise.all(runs.map(async ([r, b]) => outcome(r, await (await b.launch(r)).exited)))) as Failed[];

    expect(p).toMatchObject({ kind: "failed", error: { type: "PodImagePullFailed" } });
    expect(p!.error.message).toMatch(/127\.0\.0\.1:1\/airlock-test\/absent:1[\s\S]*events of the pod[\s\S]*check the image name and tag/);
    expect(s).toMatchObject({ kind: "failed", error: { type: "PodUnschedulable" } });
    expect(s!.error.message).toMatch(/didn't match Pod's node affinity\/selector[\s\S]*nodeSelector airlock-test\/pool=gpu[\s\S]*fix the resource profile's nodeSelector/);
    expect(t).toMatchObject({ kind: "failed", error: { type: "PodUnschedulable" } });
    expect(t!.error.message).toMatch(new RegExp(`untolerated taint[\\s\\S]*nodeSelector airlock-test/pool=${pool}; tolerations [\\s\\S]*tolerations`));
    expect(st).toMatchObject({ kind: "failed", error: { type: "PodStartupTimeout" } });
    expect(st!.error.message).toMatch(/not Running after 4 s[\s\S]*no-such-configmap[\s\S]*raise kubernetes.startupTimeout/);
    expect(e).toMatchObject({ kind: "failed", error: { type: "PodEvicted" } });
    expect(e!.error.message).toMatch(/ephemeral local storage usage exceeds the total limit of containers 2Mi[\s\S]*evicted the pod/);
    // Every failed pod is gone: a pod Kubernetes failed is not evidence worth a slot.
    for (const r of [pull, selector, taint, stuck, evicted]) await until(`pod of ${r.key.taskId} deleted`, async () => (await podPhase(podName(r.key))) === "gone");
  });

  it("onFinish: delete removes a failed try's pod; keepFailed keeps only the failed one, and the reaper leaves it", async () => {
    const del = backendWith({ onFinish: "delete" });
    const keep = backendWith({ onFinish: "keepFailed" });
    const failsDeleted = task("fails_deleted", "bash", { command: "echo no; exit 3" });
    const failsKept = task("fails_kept", "bash", { command: "echo no; exit 3" });
    const passes = task("passes", "bash", { command: "echo yes" });
    const [a, b, c] = await Promise.all([[failsDeleted, del], [failsKept, keep], [passes, keep]].map(async ([r, be]) => (await (be as typeof del).launch(r as LaunchRequest)).exited));
    expect([a?.code !== 0, b?.code !== 0, c?.code]).toEqual([true, true, 0]);
    await until("the deleted pods to be gone", async () => (await podPhase(podName(failsDeleted.key))) === "gone" && (await podPhase(podName(passes.key))) === "gone");
    expect(await podPhase(podName(failsKept.key))).toBe("Failed");
    const reaped = await reapOrphanPods({ getTry: async () => null }, { kubernetes: { ...fx.config.kubernetes, onFinish: "keepFailed" }, stateDir: fx.stateDir } as Pick<AirlockConfig, "kubernetes" | "stateDir">);
    expect(reaped).not.toContain(podName(failsKept.key));
    expect(await podPhase(podName(failsKept.key))).toBe("Failed");
    // With onFinish: delete, the same kept pod is an orphan and goes.
    expect(await reapOrphanPods({ getTry: async () => null }, { kubernetes: fx.config.kubernetes, stateDir: fx.stateDir } as Pick<AirlockConfig, "kubernetes" | "stateDir">)).toContain(podName(failsKept.key));
  });

  it("the reaper deletes a pod whose try is not running and a Secret no pod owns, and leaves a running try's pod", async () => {
    const backend = backendWith({});
    const orphan = task("orphan", "bash", { command: "echo started; sleep 300" });
    const alive = task("alive", "bash", { command: "echo started; sleep 300" });
    const [o, a] = await Promise.all([backend.launch(orphan), backend.launch(alive)]);
    await until("both pods running", async () => (await podPhase(podName(orphan.key))) === "Running" && (await podPhase(podName(alive.key))) === "Running");
    // A payload Secret left by a launch that died before creating its pod.
    const stray = `airlock-stray-${randomBytes(3).toString("hex")}`;
    await core.createNamespacedSecret({ namespace: fx.namespace, body: { metadata: { name: stray, labels: tryLabels({ ...orphan.key, taskId: "stray" }, "runner", ownerOf(fx.config)) }, data: { x: "eA==" } } });
    // Another installation's pod is never touched: the owner label differs.
    const store = { getTry: async (key: { taskId: string }) => (key.taskId === "alive" ? { state: "running" } : { state: "failed" }) };
    const reaped = await reapOrphanPods(store as never, fx.config as Pick<AirlockConfig, "kubernetes" | "stateDir">, undefined, { secretGraceMs: 0 });
    expect(reaped).toContain(podName(orphan.key));
    expect(reaped).not.toContain(podName(alive.key));
    // The supervising backend sees its pod deleted by someone else (the reaper of another process would be that).
    expect(outcome(orphan, await o.exited)).toMatchObject({ kind: "failed", error: { type: "PodDeleted" } });
    await until("the stray Secret to be deleted", () => core.readNamespacedSecret({ name: stray, namespace: fx.namespace }).then(() => false, () => true));
    expect(await podPhase(podName(alive.key))).toBe("Running");
    const left = await core.listNamespacedSecret({ namespace: fx.namespace, labelSelector: `${LABELS.owner}=${ownerOf(fx.config)}` });
    expect(left.items.map((s) => s.metadata?.name)).toContain(podName(alive.key));
    await a.kill("test over");
  });

  it("a profile's cpu request below its limit reaches the pod; a task's own cpu overrides both", async () => {
    const profiles = { burst: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } } };
    const backend = backendWith({ profiles });
    const config = { kubernetes: { ...fx.config.kubernetes, profiles } } as AirlockConfig;
    const spec = async (id: string, resources: Record<string, unknown>) => {
      const t = { ...serializedTask(id, "bash", { command: "sleep 1" }), backend: "kubernetes" as const, resources };
      const r = launchRequest(fx.stateDir, { dagId: "k8s_failures", task: t, resources: withProfile(config, t) });
      const running = await backend.launch(r);
      const pod = await core.readNamespacedPod({ name: String(running.handle.podName), namespace: fx.namespace });
      expect((await running.exited).code).toBe(0);
      return pod.spec?.containers[0]?.resources;
    };
    expect(await spec("profiled", { profile: "burst" })).toEqual({ requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } });
    expect(await spec("overridden", { profile: "burst", cpu: 0.25 })).toEqual({ requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "250m", memory: "128Mi" } });
  });

  // Node loss on a single-node cluster: a second Node that reports Ready once and then never again, as a node whose
  // kubelet died does. The real node lifecycle controller marks it unreachable and the real taint manager evicts the
  // try's pod (it tolerates unreachable for 0 s, where the default is 300 s); no kubelet runs on that node, so the
  // try's pod is put in the Running state it would have reached there.
  it("node loss: a pod on a node that stopped reporting ends as PodNodeLost quoting the eviction", async () => {
    const lost = `airlock-lost-${randomBytes(3).toString("hex")}`;
    const now = new Date().toISOString();
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Node",
      metadata: { name: lost, labels: { "kubernetes.io/hostname": lost, "airlock-test/pool": lost } },
      spec: { taints: [{ key: "airlock-test/lost", value: "true", effect: "NoSchedule" }] },
    }));
    try {
      await kubectl(["patch", "node", lost, "--subresource=status", "--type=merge", "-p", JSON.stringify({
        status: {
          capacity: { cpu: "2", memory: "4Gi", pods: "10" }, allocatable: { cpu: "2", memory: "4Gi", pods: "10" },
          conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now, lastTransitionTime: now }],
        },
      })]);
      const r = task("on_lost_node", "kubernetes_pod", {
        image, command: ["sleep", "600"], nodeSelector: { "airlock-test/pool": lost },
        tolerations: [
          { key: "airlock-test/lost", operator: "Exists", effect: "NoSchedule" },
          { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 0 },
          { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 0 },
        ],
      });
      const backend = backendWith({});
      const running = await backend.launch(r);
      const name = String(running.handle.podName);
      await until("the pod to be bound to the lost node", async () => (await core.readNamespacedPod({ name, namespace: fx.namespace })).spec?.nodeName === lost, 60_000);
      const started = new Date().toISOString();
      await kubectl(["patch", "pod", name, "-n", fx.namespace, "--subresource=status", "--type=merge", "-p", JSON.stringify({
        status: {
          phase: "Running", startTime: started,
          conditions: [{ type: "Ready", status: "True", lastTransitionTime: started }, { type: "PodScheduled", status: "True", lastTransitionTime: started }],
          containerStatuses: [{ name: "task", image, imageID: "", ready: true, restartCount: 0, started: true, state: { running: { startedAt: started } } }],
        },
      })]);
      const result = outcome(r, await running.exited) as Failed;
      expect(result).toMatchObject({ kind: "failed", error: { type: "PodNodeLost" } });
      expect(result.error.message).toMatch(new RegExp(`${name}[\\s\\S]*events of the pod[\\s\\S]*TaintManagerEviction[\\s\\S]*the try is retried if it has retries left`));
      await kubectl(["delete", "pod", name, "-n", fx.namespace, "--grace-period=0", "--force", "--ignore-not-found"]);
      await backend.close();
    } finally {
      await kubectl(["delete", "node", lost, "--wait=false"]).catch(() => undefined);
    }
  });
});
