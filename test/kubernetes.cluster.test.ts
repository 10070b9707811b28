/**
 * The test cluster itself: real pods on a real kubelet run a locally built image, finish, keep their logs, have
 * their memory limit enforced, and pull from the local registry. Every pod lives in a namespace of this file,
 * removed at the end with the image it pushed.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANIFEST_ACCEPT, pushAndVerify } from "../src/environments/targets/docker-registry.js";
import { ensureDocker, ensureRegistry, removeImages } from "./helpers/docker.js";
import { clusterImageName, ensureCluster, kubectl, loadImages, removeClusterImages } from "./helpers/kubernetes.js";

const BASE = "airlock/base:bookworm";
const namespace = `airlock-test-${randomBytes(4).toString("hex")}`;
let pushedRepo = ""; // <registry>/<namespace>/base, tag 1

interface PodStatus {
  phase: string;
  containerStatuses?: { state: { terminated?: { reason: string; exitCode: number } } }[];
}

/** Creates a one-container pod that runs `script` with sh and never restarts. */
async function createPod(name: string, image: string, script: string, extra: Record<string, unknown> = {}): Promise<void> {
  const pod = {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace },
    spec: {
      restartPolicy: "Never", dnsPolicy: "Default", terminationGracePeriodSeconds: 1, automountServiceAccountToken: false,
      containers: [{ name: "main", image, imagePullPolicy: "Never", command: ["sh", "-c", script], ...extra }],
    },
  };
  await kubectl(["create", "-f", "-"], JSON.stringify(pod));
}

/** Polls the pod until it has ended (Succeeded or Failed) and returns its status. */
async function finished(name: string): Promise<PodStatus> {
  for (;;) {
    const status = JSON.parse(await kubectl(["get", "pod", name, "-n", namespace, "-o", "jsonpath={.status}"])) as PodStatus;
    if (status.phase === "Succeeded" || status.phase === "Failed") return status;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Deletes the pushed tag's manifest from the registry (it runs with deletes enabled). */
async function deleteFromRegistry(ref: string): Promise<void> {
  const [host, ...rest] = ref.split("/");
  const [repo, tag] = rest.join("/").split(":");
  const url = `http://${host}/v2/${repo}/manifests`;
  const head = await fetch(`${url}/${tag}`, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } });
  const digest = head.headers.get("docker-content-digest");
  if (digest) await fetch(`${url}/${digest}`, { method: "DELETE" });
}

beforeAll(async () => {
  await ensureCluster();
  ensureDocker();
  await loadImages(BASE);
  await kubectl(["create", "namespace", namespace]);
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=true", "--timeout=120s"]).catch(() => undefined);
  if (pushedRepo) {
    await removeClusterImages(pushedRepo);
    await removeImages(ensureDocker(), [`${pushedRepo}:1`]);
    await deleteFromRegistry(`${pushedRepo}:1`);
  }
});

describe("test kubernetes cluster", () => {
  it("runs a pod from a locally loaded image to Succeeded and reads its log back", async () => {
    await createPod("hello", clusterImageName(BASE), "echo hello from debian $(cat /etc/debian_version)");
    const status = await finished("hello");
    expect(status.phase).toBe("Succeeded");
    expect(await kubectl(["logs", "hello", "-n", namespace])).toMatch(/^hello from debian 12\.\d+$/m);
  });

  it("enforces a 32Mi memory limit: a larger allocation is OOMKilled", async () => {
    const limits = { resources: { limits: { memory: "32Mi" }, requests: { memory: "32Mi" } } };
    await createPod("hog", clusterImageName(BASE), "dd if=/dev/zero of=/dev/null bs=256M count=1", limits);
    const status = await finished("hog");
    expect(status.phase).toBe("Failed");
    expect(status.containerStatuses?.[0]?.state.terminated).toMatchObject({ reason: "OOMKilled", exitCode: 137 });
  });

  it("pulls an image pushed to the local registry", async () => {
    const registry = ensureRegistry(5000);
    pushedRepo = `${registry}/${namespace}/base`;
    await pushAndVerify(ensureDocker(), { source: BASE, registry, repository: `${namespace}/base`, tag: "1", log: () => undefined });
    await createPod("pulled", `${pushedRepo}:1`, "echo pulled from the registry", { imagePullPolicy: "Always" });
    const status = await finished("pulled");
    expect(status.phase).toBe("Succeeded");
    expect(await kubectl(["logs", "pulled", "-n", namespace])).toContain("pulled from the registry");
  });
});
