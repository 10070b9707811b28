/**
 * Fixtures for kubernetes backend suites: a namespace of its own on the real test cluster (deleted afterwards,
 * which removes every pod, Secret and ConfigMap a suite made), the runtime image published through the local
 * registry, and a backend configured for them.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AirlockConfig } from "../../src/config/config.js";
import { ensureDocker, ensureRegistry } from "./docker.js";
import { ensureCluster, kubectl } from "./kubernetes.js";

/** Everything a kubernetes suite needs. */
export interface KubernetesFixture {
  config: Pick<AirlockConfig, "project" | "docker" | "kubernetes" | "environmentsFolder" | "projectDir" | "stateDir">;
  namespace: string;
  stateDir: string;
  kubeconfig: string;
  registry: string;
  /** Deletes the namespace (and so everything in it) and the state folder. */
  cleanup(): Promise<void>;
}

/** A fresh namespace and state folder; the pod template sets what the test cluster needs (no cluster DNS). */
export async function kubernetesFixture(name: string): Promise<KubernetesFixture> {
  const { kubeconfig } = await ensureCluster();
  ensureDocker();
  const registry = ensureRegistry();
  const namespace = `airlock-${name}-${randomBytes(3).toString("hex")}`;
  await kubectl(["create", "namespace", namespace]);
  const stateDir = mkdtempSync(path.join(os.tmpdir(), `airlock-k8s-${name}-`));
  const podTemplate = path.join(stateDir, "pod-template.yaml");
  writeFileSync(podTemplate, "spec:\n  dnsPolicy: Default\n");
  const config: KubernetesFixture["config"] = {
    project: "airlock-k8s-test", stateDir, environmentsFolder: path.join(stateDir, "environments"), projectDir: stateDir,
    docker: { socketPath: null, host: null, registry: null, baseImage: null },
    kubernetes: {
      kubeconfig, context: null, namespace, registry, imagePullSecrets: [], serviceAccountName: null, podTemplate,
      startupTimeoutMs: 120_000, onFinish: "delete", profiles: {},
    },
  };
  return {
    config, namespace, stateDir, kubeconfig, registry,
    async cleanup() {
      await kubectl(["delete", "namespace", namespace, "--wait=false"]).catch(() => undefined);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
