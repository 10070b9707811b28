/**
 * The kubernetes backend's decisions that need no cluster: config validation, resource profiles, the pod spec
 * (nothing secret in it), pod template merging, reading pod status into named failures, and log resumption.
 * Everything that talks to a cluster is proven in kubernetes.backend.test.ts against the real one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/config.js";
import { podState } from "../src/backends/kubernetes/diagnose.js";
import { TimestampedLines } from "../src/backends/kubernetes/logs.js";
import { runnerPod } from "../src/backends/kubernetes/runner-pod.js";
import { containerResources, labelValue, podName, resolveProfile } from "../src/backends/kubernetes/spec.js";
import { mergePodTemplate } from "../src/backends/kubernetes/template.js";
import { dag, kubernetesPod, serializeDag } from "../src/sdk/index.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-k8s-spec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function configWith(kubernetes: unknown) {
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify({ kubernetes }));
  return loadConfig({ cwd: dir, env: {} });
}

describe("kubernetes config", () => {
  it("fills defaults and reads every fixed key", async () => {
    const c = await configWith({ namespace: "jobs", startupTimeout: "90s", onFinish: "keepFailed", imagePullSecrets: ["regcred"], profiles: { huge: { limits: { memory: "8Gi" } } } });
    expect(c.kubernetes).toMatchObject({ namespace: "jobs", startupTimeoutMs: 90_000, onFinish: "keepFailed", imagePullSecrets: ["regcred"], kubeconfig: null, context: null, registry: null, serviceAccountName: null, podTemplate: null });
    expect(c.kubernetes.profiles.huge?.limits?.memory).toBe("8Gi");
    expect((await configWith({})).kubernetes).toMatchObject({ namespace: "default", onFinish: "delete", startupTimeoutMs: 300_000, profiles: {} });
  });

  it("rejects bad values with the key's name", async () => {
    await expect(configWith({ onFinish: "sometimes" })).rejects.toThrow(/kubernetes\.onFinish/);
    await expect(configWith({ startupTimeout: "soon" })).rejects.toThrow(/kubernetes\.startupTimeout/);
    await expect(configWith({ profiles: { huge: { limits: { memory: "lots" } } } })).rejects.toThrow(/kubernetes\.profiles\.huge\.limits\.memory/);
    await expect(configWith({ profiles: { huge: { nodeSelectors: {} } } })).rejects.toThrow(/kubernetes\.profiles\.huge\.nodeSelectors/);
    await expect(configWith({ namespace: "Not_A_Namespace" })).rejects.toThrow(/kubernetes\.namespace/);
  });
});

describe("kubernetesPod operator", () => {
  const define = (options: Record<string, unknown>) => dag({ id: "pods", schedule: null, startDate: "2026-01-01" }, () => {
    kubernetesPod({ id: "p", image: "busybox:1", ...options } as Parameters<typeof kubernetesPod>[0]);
  });

  it("serializes as a kubernetes task with its templated fields", () => {
    const d = serializeDag(define({ args: ["{{ ds }}"], secretEnv: { TOKEN: "{{ conn.api.password }}", KEY: { secretName: "existing", key: "k" } } }));
    expect(d.tasks.p).toMatchObject({ kind: "kubernetes_pod", backend: "kubernetes", args: { image: "busybox:1", args: ["{{ ds }}"] } });
    expect(d.tasks.p?.templateFields).toEqual(expect.arrayContaining(["image", "args", "env", "secretEnv"]));
  });

  it("rejects bad options naming the field and the fix", () => {
    expect(() => define({ secretEnv: { TOKEN: "literal-secret" } })).toThrow(/secretEnv\.TOKEN must be a template such as/);
    expect(() => define({ backend: "docker" })).toThrow(/backend must be "kubernetes"/);
    expect(() => define({ imagePullPolicy: "Sometimes" })).toThrow(/imagePullPolicy must be "Always", "IfNotPresent" or "Never"/);
    expect(() => define({ secretFiles: [{ mountPath: "relative", files: {} }] })).toThrow(/secretFiles\[0\] must be/);
    expect(() => define({ resources: { profile: "" } })).toThrow(/resources\.profile/);
  });
});

describe("resource profiles and resources", () => {
  const profiles = { __default__: { nodeSelector: { pool: "general" } }, huge: { nodeSelector: { pool: "big" }, requests: { cpu: "2" } } };

  it("picks resources.profile, else a resources:<name> tag, else __default__", () => {
    expect(resolveProfile(profiles, { profile: "huge" })).toBe(profiles.huge);
    expect(resolveProfile(profiles, null, ["team:a", "resources:huge"])).toBe(profiles.huge);
    expect(resolveProfile(profiles, { memory: "1Gi" })).toBe(profiles.__default__);
    expect(resolveProfile({}, null)).toEqual({});
    expect(() => resolveProfile(profiles, { profile: "tiny" })).toThrow(/profile "tiny" is not configured; add kubernetes\.profiles\.tiny .*huge/);
  });

  it("makes task memory and cpu both the request and the limit, over the profile's", () => {
    expect(containerResources({ requests: { cpu: "2", memory: "1Gi" }, limits: { memory: "2Gi" } }, { memory: "256Mi", cpu: 0.5 })).toEqual({
      requests: { cpu: "500m", memory: "256Mi" }, limits: { memory: "256Mi", cpu: "500m" },
    });
    expect(containerResources({}, null)).toEqual({});
  });

  it("names pods deterministically within 63 characters and cleans label values", () => {
    const key = { dagId: "A_very_long_DAG_name_with_UPPER_case", runId: "manual__2026-01-01T00:00:00+00:00", taskId: "task.x", tryNumber: 3 };
    expect(podName(key)).toBe(podName({ ...key }));
    expect(podName(key)).not.toBe(podName({ ...key, tryNumber: 4 }));
    expect(podName(key)).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])$/);
    expect(labelValue(key.runId)).toMatch(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/);
  });
});

describe("runner pod spec", () => {
  const pod = runnerPod({
    name: "airlock-d-t-1-abc", labels: { a: "b" }, annotations: {}, image: "img:1", pullPolicy: "Never",
    bundle: { name: "airlock-runner-x", data: {}, items: [{ key: "runner.mjs", path: "runner.mjs" }] }, tryNumber: 1,
    resources: { limits: { memory: "64Mi" } }, serviceAccountName: null, imagePullSecrets: [],
  });

  it("carries no token, no payload in env or args, and mounts the payload read-only", () => {
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    const task = pod.spec?.containers[0];
    expect(task?.env?.map((e) => e.name).sort()).toEqual(["HOME", "LANG", "PATH", "TMPDIR"]);
    expect(task?.volumeMounts?.find((m) => m.name === "payload")).toMatchObject({ mountPath: "/airlock/payload", readOnly: true });
    expect(pod.spec?.volumes?.find((v) => v.name === "payload")?.secret?.secretName).toBe("airlock-d-t-1-abc");
    expect(pod.spec?.terminationGracePeriodSeconds).toBeLessThanOrEqual(5);
  });

  it("merges a pod template under it: the template adds, Airlock's fields win", () => {
    const template: V1Pod = {
      metadata: { labels: { team: "data" } },
      spec: {
        dnsPolicy: "Default", automountServiceAccountToken: true,
        containers: [{ name: "task", image: "ignored", env: [{ name: "FROM_TEMPLATE", value: "1" }] }, { name: "proxy", image: "proxy:1" }],
      },
    };
    const merged = mergePodTemplate(template, pod);
    expect(merged.metadata?.labels).toEqual({ team: "data", a: "b" });
    expect(merged.spec?.dnsPolicy).toBe("Default");
    expect(merged.spec?.automountServiceAccountToken).toBe(false);
    expect(merged.spec?.containers.map((c) => c.name)).toEqual(["task", "proxy"]);
    expect(merged.spec?.containers[0]?.image).toBe("img:1");
    expect(merged.spec?.containers[0]?.env?.map((e) => e.name)).toContain("FROM_TEMPLATE");
    expect(template.spec?.containers[0]?.image).toBe("ignored");
  });
});

describe("pod status into named failures", () => {
  const withTask = (state: object, extra: Partial<NonNullable<V1Pod["status"]>> = {}): V1Pod => ({
    metadata: { name: "p" }, spec: { containers: [] },
    status: { phase: "Pending", ...extra, containerStatuses: [{ name: "task", image: "i", imageID: "", ready: false, restartCount: 0, state } as never] },
  });

  it("reads the kinds of end and failure", () => {
    expect(podState(withTask({ terminated: { exitCode: 137, reason: "OOMKilled" } }), false)).toMatchObject({ kind: "ended", code: 137, oomKilled: true });
    expect(podState(withTask({ waiting: { reason: "ErrImageNeverPull", message: "never pull" } }), false)).toMatchObject({ kind: "failed", code: "image_missing" });
    expect(podState(withTask({ waiting: { reason: "ImagePullBackOff" } }), false)).toMatchObject({ kind: "failed", code: "image_pull_failed" });
    expect(podState(withTask({ running: {} }), false)).toEqual({ kind: "running" });
    // The kubelet retries a secret cache that has not synced yet; a missing Secret fails at once.
    expect(podState(withTask({ waiting: { reason: "CreateContainerConfigError", message: "failed to sync secret cache: timed out waiting for the condition" } }), false)).toMatchObject({ kind: "starting", why: expect.stringContaining("kubelet retries") });
    expect(podState(withTask({ waiting: { reason: "CreateContainerConfigError", message: 'secret "nope" not found' } }), false)).toMatchObject({ kind: "failed", code: "pod_failed" });
    const unschedulable: V1Pod = { metadata: {}, status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient memory." }] } };
    expect(podState(unschedulable, false)).toMatchObject({ kind: "failed", code: "unschedulable", why: expect.stringContaining("Insufficient memory") });
    expect(podState({ metadata: {}, status: { phase: "Failed", reason: "Evicted", message: "low on memory" } }, false)).toMatchObject({ kind: "failed", code: "evicted" });
    const lost: V1Pod = { metadata: {}, status: { phase: "Running", conditions: [{ type: "DisruptionTarget", status: "True", reason: "DeletionByTaintManager" }] } };
    expect(podState(lost, false)).toMatchObject({ kind: "failed", code: "node_lost" });
    const deleting = withTask({ running: {} });
    deleting.metadata!.deletionTimestamp = new Date();
    expect(podState(deleting, false)).toMatchObject({ kind: "failed", code: "deleted" });
    expect(podState(deleting, true)).toEqual({ kind: "running" });
  });
});

describe("log resumption", () => {
  const lines = (cursor: { ts: string | null; atTs: number }, text: string) => {
    const out: string[] = [];
    const t = new TimestampedLines(cursor, (l) => out.push(l.toString().trimEnd()));
    t.push(Buffer.from(text));
    t.end();
    return { out, position: t.position };
  };

  it("skips exactly what a cursor says was delivered, even lines sharing a timestamp", () => {
    const stream = "2026-01-01T00:00:01.5Z a\n2026-01-01T00:00:02.25Z b\n2026-01-01T00:00:02.25Z c\n2026-01-01T00:00:03Z d\n";
    const first = lines({ ts: null, atTs: 0 }, stream.split("\n").slice(0, 2).join("\n") + "\n");
    expect(first).toEqual({ out: ["a", "b"], position: { ts: "2026-01-01T00:00:02.25Z", atTs: 1 } });
    // The reconnect asks from the whole second 00:00:02 and gets b again: it is dropped, c and d are new.
    const again = lines(first.position, stream.split("\n").slice(1).join("\n"));
    expect(again.out).toEqual(["c", "d"]);
    // A partial last line is not counted before it is whole.
    const partial = new TimestampedLines({ ts: null, atTs: 0 }, () => undefined);
    partial.push(Buffer.from("2026-01-01T00:00:01Z whole\n2026-01-01T00:00:02Z hal"));
    expect(partial.position).toEqual({ ts: "2026-01-01T00:00:01Z", atTs: 1 });
  });
});
