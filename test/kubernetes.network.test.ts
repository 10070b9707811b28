/**
 * `network: "none"` on the real test cluster: the backend's deny-all NetworkPolicy, enforced by the cluster's
 * kube-router firewall and proven by the backend's own probe, keeps a task from reaching a server listening on the
 * host (on the pod network's bridge address) from its first instruction, while a `network: "host"` task reaches the same server.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeClient } from "../src/backends/kubernetes/client.js";
import { createKubernetesBackend } from "../src/backends/kubernetes/index.js";
import { NETWORK_WAIT_CONTAINER } from "../src/backends/kubernetes/diagnose.js";
import { clusterImage } from "../src/backends/kubernetes/images.js";
import { NETWORK_LABEL, POLICY_NAME } from "../src/backends/kubernetes/network.js";
import type { LaunchRequest } from "../src/backends/types.js";
import { launchRequest, serializedTask } from "./helpers/docker-runner.js";
import { kubernetesFixture, type KubernetesFixture } from "./helpers/kubernetes-backend.js";
import { kubectl } from "./helpers/kubernetes.js";

let fx: KubernetesFixture;
let server: net.Server;
let host = "";
let port = 0;
const peers: string[] = [];
const taskLines = (r: LaunchRequest) => readFileSync(r.rawLogPath, "utf8").split("\n").filter((l) => l && !l.startsWith("[airlock]"));

describe("kubernetes: network none", { timeout: 600_000 }, () => {
  beforeAll(async () => {
    fx = await kubernetesFixture("network");
    // The host as pods see it: the CNI bridge's address (pods have no route to 127.0.0.1 of the host).
    host = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(execFileSync("ip", ["-4", "-o", "addr", "show", "airlock-cni0"], { encoding: "utf8" }))?.[1] ?? "";
    expect(host).not.toBe("");
    server = net.createServer((s) => {
      peers.push(s.remoteAddress ?? "?");
      s.end("hello from the host\n");
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    port = (server.address() as net.AddressInfo).port;
  }, 900_000);
  afterAll(async () => {
    server?.close();
    await fx?.cleanup();
  });

  const probeScript = () => `const s = require("net").connect(${port}, "${host}"); s.setTimeout(3000, () => { console.log("blocked: timeout"); process.exit(0); }); s.on("data", (d) => { console.log("reached: " + d.toString().trim()); process.exit(0); }); s.on("error", (e) => { console.log("blocked: " + e.code); process.exit(0); });`;
  const bashProbe = (id: string, network: "none" | "host") =>
    launchRequest(fx.stateDir, { dagId: "k8s_network", task: { ...serializedTask(id, "bash", { command: `node -e '${probeScript()}'` }), backend: "kubernetes" }, network });
  const sentinels = async () => (await kubectl(["get", "pods", "-n", fx.namespace, "-l", "airlock/network-probe", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.phase}{\"\\n\"}{end}"])).split("\n").filter((l) => l.endsWith(" Running")).map((l) => l.split(" ")[0]);

  // The task's first instruction connects: a pod that started before the cluster's enforcer programmed it would get
  // through. Runner pods wait inline; a user image (kubernetesPod) waits in an init container.
  it("a network: none task cannot reach a server on the host from its first instruction; a network: host task can", async () => {
    const backend = createKubernetesBackend(fx.config);
    const image = (await clusterImage(fx.config, null, () => undefined)).image;
    const none = bashProbe("sealed", "none");
    const open = bashProbe("open", "host");
    const pod = launchRequest(fx.stateDir, { dagId: "k8s_network", task: { ...serializedTask("pod", "kubernetes_pod", { image, imagePullPolicy: "IfNotPresent", command: ["node", "-e", probeScript()] }), backend: "kubernetes" }, network: "none" });
    try {
      const [a, b, c] = await Promise.all([none, open, pod].map(async (r) => {
        const running = await backend.launch(r);
        const spec = await createKubeClient(fx.config.kubernetes).core.readNamespacedPod({ name: String(running.handle.podName), namespace: fx.namespace });
        return { exit: await running.exited, labels: spec.metadata?.labels ?? {}, init: (spec.spec?.initContainers ?? []).map((x) => x.name) };
      }));
      expect(a!.labels[NETWORK_LABEL]).toBe("none");
      expect(b!.labels[NETWORK_LABEL]).toBeUndefined();
      expect(c!.labels[NETWORK_LABEL]).toBe("none");
      expect(c!.init).toEqual([NETWORK_WAIT_CONTAINER]);
      expect([a!.exit.code, b!.exit.code, c!.exit.code]).toEqual([0, 0, 0]);
      expect(taskLines(open)).toEqual(["reached: hello from the host"]);
      expect(taskLines(none)[0]).toMatch(/^blocked: /);
      // The user pod's output is its own log (no runner): the probe line is in it.
      expect(readFileSync(pod.rawLogPath, "utf8")).toMatch(/blocked: /);
      // Exactly one connection arrived: the open task's.
      expect(peers).toHaveLength(1);
      const policy = JSON.parse(await kubectl(["get", "networkpolicy", POLICY_NAME, "-n", fx.namespace, "-o", "json"])) as { spec: unknown };
      expect(policy.spec).toEqual({ podSelector: { matchLabels: { [NETWORK_LABEL]: "none" } }, policyTypes: ["Ingress", "Egress"] });
      // Every wait connected to the sentinel and reset: the listener survived them all.
      const [sentinel] = await sentinels();
      expect(sentinel).toBeDefined();
      const restarts = await kubectl(["get", "pod", sentinel!, "-n", fx.namespace, "-o", "jsonpath={.status.containerStatuses[0].restartCount}"]);
      expect(restarts).toBe("0");
    } finally {
      await backend.close();
    }
    // The probe pods, and the sentinel once the backend closed, are gone.
    expect(await kubectl(["get", "pods", "-n", fx.namespace, "-l", "airlock/network-probe", "-o", "name"])).toBe("");
  });

  // A wait trusts "the sentinel is unreachable" only while the sentinel lives: a sentinel that died would be
  // unreachable for every pod, letting a try start before the enforcer acted. The backend proves isolation afresh.
  it("a dead sentinel is replaced by a fresh proof before the next network: none try", async () => {
    const backend = createKubernetesBackend(fx.config);
    try {
      const first = bashProbe("first", "none");
      expect((await (await backend.launch(first)).exited).code).toBe(0);
      const [before] = await sentinels();
      expect(before).toBeDefined();
      await kubectl(["delete", "pod", before!, "-n", fx.namespace, "--grace-period=0", "--force", "--wait=true"]);
      const second = bashProbe("second", "none");
      expect((await (await backend.launch(second)).exited).code).toBe(0);
      const after = await sentinels();
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before);
      expect(taskLines(first)[0]).toMatch(/^blocked: /);
      expect(taskLines(second)[0]).toMatch(/^blocked: /);
      expect(peers).toHaveLength(1);
    } finally {
      await backend.close();
    }
  });
});
