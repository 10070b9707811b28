/**
 * The scratch-disk limit on kubernetes: a runner pod's scratch and /tmp emptyDirs carry resources.scratch as their
 * sizeLimit, and the kubelet evicts a pod that writes past it; the try fails naming the eviction.
 */
import type { CoreV1Api } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeClient } from "../src/backends/kubernetes/client.js";
import { createKubernetesBackend } from "../src/backends/kubernetes/index.js";
import type { Backend } from "../src/backends/types.js";
import { decide, readEvents } from "../src/executor/outcome.js";
import { launchRequest, serializedTask } from "./helpers/docker-runner.js";
import { kubernetesFixture, type KubernetesFixture } from "./helpers/kubernetes-backend.js";

let fx: KubernetesFixture;
let backend: Backend;
let core: CoreV1Api;

describe("scratch limit on kubernetes", { timeout: 600_000 }, () => {
  beforeAll(async () => {
    fx = await kubernetesFixture("scratch");
    backend = createKubernetesBackend(fx.config);
    core = createKubeClient(fx.config.kubernetes).core;
  }, 900_000);
  afterAll(async () => {
    await backend?.close();
    await fx?.cleanup();
  });

  it("sizes the scratch and /tmp emptyDirs, and a pod writing past them is evicted", async () => {
    const r = launchRequest(fx.stateDir, {
      dagId: "k8s_scratch", task: { ...serializedTask("fill", "bash", { command: "head -c 200M /dev/zero > fill; echo wrote; sleep 120; echo survived" }), backend: "kubernetes" },
      resources: { scratch: "64Mi" },
    });
    const running = await backend.launch(r);
    const pod = await core.readNamespacedPod({ name: String(running.handle.podName), namespace: fx.namespace });
    const volumes = Object.fromEntries((pod.spec?.volumes ?? []).map((v) => [v.name, v.emptyDir?.sizeLimit]));
    expect(volumes).toMatchObject({ scratch: "64Mi", tmp: "64Mi" });
    const exit = await running.exited;
    const log = readFileSync(r.rawLogPath, "utf8");
    expect(log).not.toContain("survived");
    const verdict = decide({ events: readEvents(r.eventsPath), exit, scratchDir: r.scratchDir, killedFor: null });
    expect(verdict.kind).toBe("failed");
    expect(JSON.stringify(verdict) + (exit.detail ?? "")).toMatch(/[Ee]vict|ephemeral|emptyDir|sizeLimit/);
  });
});
