/**
 * A rendered secret in a kubernetesPod's command never reaches the pod spec: a shell script holding it travels in
 * the try's Secret (mounted as a file the shell reads), and a secret passed as a program's argument or in the plain
 * env is refused with the field and the fix.
 */
import type { CoreV1Api } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeClient } from "../src/backends/kubernetes/client.js";
import { clusterImage } from "../src/backends/kubernetes/images.js";
import { createKubernetesBackend } from "../src/backends/kubernetes/index.js";
import type { Backend, LaunchRequest } from "../src/backends/types.js";
import { launchRequest, serializedTask } from "./helpers/docker-runner.js";
import { kubernetesFixture, type KubernetesFixture } from "./helpers/kubernetes-backend.js";

const SECRET = "pw-podspec-Jq27-secret";
let fx: KubernetesFixture;
let backend: Backend;
let core: CoreV1Api;
let image: string;

const pod = (id: string, args: Record<string, unknown>): LaunchRequest =>
  launchRequest(fx.stateDir, { dagId: "pod_secrets", task: { ...serializedTask(id, "kubernetes_pod", { image, imagePullPolicy: "IfNotPresent", ...args }), backend: "kubernetes" }, masks: [SECRET] });

describe("secrets in a pod's command", { timeout: 600_000 }, () => {
  beforeAll(async () => {
    fx = await kubernetesFixture("podsecrets");
    backend = createKubernetesBackend(fx.config);
    core = createKubeClient(fx.config.kubernetes).core;
    image = (await clusterImage(fx.config, null, () => undefined)).image;
  }, 900_000);
  afterAll(async () => {
    await backend?.close();
    await fx?.cleanup();
  });

  it("runs a shell script holding a secret with nothing secret in the pod spec", async () => {
    const r = pod("script", { command: ["/bin/sh", "-c", `printf %s '${SECRET}' | wc -c; echo "$1"`, "prog", "one"] });
    const running = await backend.launch(r);
    const spec = await core.readNamespacedPod({ name: String(running.handle.podName), namespace: fx.namespace });
    const exit = await running.exited;
    const log = readFileSync(r.rawLogPath, "utf8");
    expect(exit.code, log).toBe(0);
    expect(JSON.stringify(spec)).not.toContain(SECRET);
    expect(spec.spec?.containers[0]?.command).toEqual(["/bin/sh", "/airlock/command/script", "one"]);
    expect(log).toContain(`${SECRET.length}\none\n`);
  });

  it("refuses a secret as a program's argument (naming command) or in env (naming secretEnv)", async () => {
    const argument = await backend.launch(pod("argument", { command: ["echo"], args: [SECRET] })).then(() => null, (e: Error) => e);
    expect(argument?.message).toMatch(/command passes a secret .* argument of "echo".*secretEnv/);
    const noCommand = await backend.launch(pod("no_command", { args: [SECRET] })).then(() => null, (e: Error) => e);
    expect(noCommand?.message).toMatch(/args passes a secret/);
    const env = await backend.launch(pod("plain_env", { command: ["true"], env: { TOKEN: SECRET } })).then(() => null, (e: Error) => e);
    expect(env?.message).toMatch(/env\.TOKEN holds a secret.*move it to secretEnv/);
    const names = (await core.listNamespacedPod({ namespace: fx.namespace })).items.map((p) => p.metadata?.name ?? "");
    expect(names.filter((n) => !n.includes("script") && !n.startsWith("airlock-netprobe-"))).toEqual([]);
  });
});
