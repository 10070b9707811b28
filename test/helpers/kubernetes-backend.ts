/**
 * Fixtures for kubernetes backend suites: a namespace of its own on the real test cluster (deleted afterwards,
 * which removes every pod, Secret and ConfigMap a suite made), the runtime image published through the local
 * registry, and a backend configured for them.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { LaunchRequest, RunningTry } from "../../src/backends/types.js";
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

/**
 * Launches one try on the kubernetes backend in a child process (a stand-in orchestrator, see
 * kubernetes-launch-child.ts) and returns the try's handle once the pod exists, and a `kill9` for crash tests.
 */
export async function launchInChild(request: LaunchRequest, config: KubernetesFixture["config"]): Promise<{ handle: RunningTry["handle"]; kill9(): Promise<void> }> {
  mkdirSync(request.tryDir, { recursive: true });
  const requestFile = path.join(request.tryDir, "request.json");
  const configFile = path.join(request.tryDir, "config.json");
  writeFileSync(requestFile, JSON.stringify(request));
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, ["--import", "tsx", path.join(path.dirname(fileURLToPath(import.meta.url)), "kubernetes-launch-child.ts"), requestFile, configFile], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("the child printed no handle within 120 s")), 120_000);
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve(out.split("\n")[0] as string);
      }
    });
    child.once("exit", (code) => reject(new Error(`the child exited with ${code} before printing a handle`)));
  });
  return {
    handle: JSON.parse(line) as RunningTry["handle"],
    kill9: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}
