/**
 * `network: "none"` on a cluster: a try's pod carries the label `airlock/network: none`, and one NetworkPolicy per
 * namespace denies every pod with that label all egress and ingress. A NetworkPolicy is only as good as the
 * cluster's enforcer (many CNIs ignore them), so before the first such try a process proves enforcement once: a
 * listener pod, a control pod that must reach it, and a pod under the policy that must not. Without proof the try
 * is refused with a named error; "none" is never silently ignored.
 */
import { randomBytes } from "node:crypto";
import { NetworkingV1Api, type V1Container, type V1NetworkPolicy, type V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "./client.js";
import { NETWORK_WAIT_CONTAINER } from "./diagnose.js";
import { KubernetesError, messageOf, statusOf } from "./errors.js";
import { deletePod } from "./lifecycle.js";
import { TASK_CONTAINER } from "./spec.js";

/** The label that puts a pod under the deny-all policy. */
export const NETWORK_LABEL = "airlock/network";
/** The namespace's deny-all policy. */
export const POLICY_NAME = "airlock-network-none";
const PROBE_LABEL = "airlock/network-probe";
const PORT = 8080;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Lifetime of a sentinel pod; a process renews its proof (and sentinel) ten minutes before. */
const SENTINEL_SECONDS = 3600;
/** How long the probe's control may take to connect and its isolated pod to be cut off (a busy enforcer is slow). */
const PROBE_SECONDS = 60;

/** A proven isolation: the listener pods without the policy reach, and until when to rely on it. */
export interface Sentinel {
  pod: string;
  address: string;
  until: number;
}

/** The deny-all NetworkPolicy for pods labelled `airlock/network: none`. */
export function isolationPolicy(): V1NetworkPolicy {
  return {
    metadata: { name: POLICY_NAME, labels: { "airlock/managed": "true" } },
    spec: { podSelector: { matchLabels: { [NETWORK_LABEL]: "none" } }, policyTypes: ["Ingress", "Egress"] },
  };
}

async function ensurePolicy(client: KubeClient): Promise<void> {
  const net = client.kc.makeApiClient(NetworkingV1Api);
  try {
    await net.createNamespacedNetworkPolicy({ namespace: client.namespace, body: isolationPolicy() });
  } catch (err) {
    if (statusOf(err) === 409) return;
    const hint = statusOf(err) === 403 ? "; the Role needs create on networkpolicies (networking.k8s.io), see the README" : "";
    throw new KubernetesError(statusOf(err) === 403 ? "forbidden" : "network_unenforced", `creating the NetworkPolicy ${POLICY_NAME} in namespace ${client.namespace} failed: ${messageOf(err)}${hint}`, { cause: err });
  }
}

/** A node program: connect to TARGET; `until` says whether to stop at the first success or the first failure. */
function prober(until: "reached" | "blocked", seconds: number): string {
  return `const net = require("net"); const end = Date.now() + ${seconds * 1000};
function attempt() {
  const s = net.connect(${PORT}, process.env.TARGET); let done = false;
  const finish = (ok) => { if (done) return; done = true; s.destroy();
    if (ok === ${until === "reached"}) { console.log(ok ? "reached" : "blocked"); process.exit(ok ? 0 : 3); }
    if (Date.now() > end) { console.log(ok ? "reached" : "blocked"); process.exit(ok ? 0 : 3); }
    setTimeout(attempt, 300); };
  s.setTimeout(1000, () => finish(false)); s.on("connect", () => finish(true)); s.on("error", () => finish(false));
}
attempt();`;
}

function probePod(name: string, id: string, image: string, pullPolicy: string, script: string, labels: Record<string, string>, target?: string): V1Pod {
  return {
    metadata: { name, labels: { [PROBE_LABEL]: id, ...labels } },
    spec: {
      restartPolicy: "Never", terminationGracePeriodSeconds: 0, automountServiceAccountToken: false, enableServiceLinks: false,
      containers: [{
        name: TASK_CONTAINER, image, imagePullPolicy: pullPolicy, command: ["node", "-e", script],
        ...(target ? { env: [{ name: "TARGET", value: target }] } : {}),
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      }],
    },
  };
}

async function waitPod(client: KubeClient, name: string, done: (p: V1Pod) => boolean, ms: number): Promise<V1Pod> {
  const end = Date.now() + ms;
  for (;;) {
    const pod = await client.core.readNamespacedPod({ name, namespace: client.namespace }).catch(() => null);
    if (pod && done(pod)) return pod;
    if (pod?.status?.phase === "Failed" || Date.now() > end) {
      throw new KubernetesError("network_unenforced", `the network probe pod ${name} did not ${pod?.status?.phase === "Failed" ? "run" : "finish in time"} (${pod?.status?.phase ?? "not found"}${pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason ? `, ${pod.status.containerStatuses[0].state.waiting.reason}` : ""})`);
    }
    await sleep(250);
  }
}

const exitOf = (p: V1Pod) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;

/**
 * Ensures the policy and proves, with real pods, that the cluster enforces it. `place` applies the pod template
 * (so probes land where tries land); `image` is any image with node.
 */
export async function ensureNetworkIsolation(client: KubeClient, image: string, pullPolicy: string, place: (pod: V1Pod) => V1Pod): Promise<Sentinel> {
  await ensurePolicy(client);
  // A control that fails proves nothing; it can happen when a new pod gets the address of a just-deleted isolated
  // pod whose rules the enforcer has not removed yet. Fresh pods get other addresses.
  for (let attempt = 1; ; attempt++) {
    try {
      return await probe(client, image, pullPolicy, place);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof InconclusiveProbe)) throw err;
    }
  }
}

class InconclusiveProbe extends KubernetesError {}

async function probe(client: KubeClient, image: string, pullPolicy: string, place: (pod: V1Pod) => V1Pod): Promise<Sentinel> {
  const id = randomBytes(4).toString("hex");
  let ok = false;
  const names = { listener: `airlock-netprobe-${id}-listen`, control: `airlock-netprobe-${id}-control`, isolated: `airlock-netprobe-${id}-none` };
  try {
    // A client that resets its connection (every isolation wait does, by design) must never bring the listener
    // down: a dead sentinel is unreachable for every pod, which would let a wait pass before the enforcer acted.
    const server = 'require("net").createServer((s) => { s.on("error", () => {}); s.end("x"); }).on("error", (e) => { console.error(e.message); process.exit(1); }).listen(8080); process.on("SIGTERM", () => process.exit(0));';
    const sentinel = place(probePod(names.listener, id, image, pullPolicy, server, {}));
    // The listener stays as this process's sentinel; a process that dies without deleting it leaves it an hour at most.
    sentinel.spec!.activeDeadlineSeconds = SENTINEL_SECONDS;
    await client.core.createNamespacedPod({ namespace: client.namespace, body: sentinel });
    const listener = await waitPod(client, names.listener, (p) => p.status?.phase === "Running" && Boolean(p.status.podIP), 120_000);
    const target = listener.status?.podIP as string;
    await Promise.all([
      client.core.createNamespacedPod({ namespace: client.namespace, body: place(probePod(names.control, id, image, pullPolicy, prober("reached", PROBE_SECONDS), {}, target)) }),
      client.core.createNamespacedPod({ namespace: client.namespace, body: place(probePod(names.isolated, id, image, pullPolicy, prober("blocked", PROBE_SECONDS), { [NETWORK_LABEL]: "none" }, target)) }),
    ]);
    const ended = (p: V1Pod) => exitOf(p) !== undefined;
    const [control, isolated] = await Promise.all([waitPod(client, names.control, ended, 120_000), waitPod(client, names.isolated, ended, 120_000)]);
    if (exitOf(control) !== 0) {
      throw new InconclusiveProbe("network_unenforced", `network: "none" cannot be verified in namespace ${client.namespace}: a probe pod without any policy could not reach another pod (${target}:${PORT}) either, so the test proves nothing; check the cluster's pod network`);
    }
    if (exitOf(isolated) !== 3) {
      throw new KubernetesError("network_unenforced", `network: "none" is not enforced in namespace ${client.namespace}: a pod under the NetworkPolicy ${POLICY_NAME} (deny all egress) still reached another pod for ${PROBE_SECONDS} s. The cluster's network plugin ignores NetworkPolicies: install an enforcer (Calico, Cilium, kube-router's firewall…), or give tasks that may use the network network: "host"`);
    }
    ok = true;
    return { pod: names.listener, address: `${target}:${PORT}`, until: Date.now() + (SENTINEL_SECONDS - 600) * 1000 };
  } finally {
    await Promise.all(Object.entries(names).filter(([k]) => !ok || k !== "listener").map(([, n]) => deletePod(client, n, 0).catch(() => undefined)));
  }
}

/**
 * Whether the sentinel can still prove isolation: its pod runs, its listener never restarted, and it is not being
 * deleted. A wait that finds the sentinel unreachable proves only that the enforcer acted while the sentinel lives,
 * so every try checks it first and a dead sentinel is replaced by a fresh proof.
 */
export async function sentinelAlive(client: KubeClient, sentinel: Sentinel): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    let pod: V1Pod;
    try {
      pod = await client.core.readNamespacedPod({ name: sentinel.pod, namespace: client.namespace });
    } catch (err) {
      if (statusOf(err) === 404) return false;
      // A busy API server is no evidence either way: ask again, then give up on this try (never on the proof).
      if (attempt >= 3) throw new KubernetesError("cluster_unavailable", `reading the network sentinel pod ${sentinel.pod} failed: ${messageOf(err)}`, { cause: err });
      await sleep(1000 * attempt);
      continue;
    }
    const c = pod.status?.containerStatuses?.[0];
    return Boolean(!pod.metadata?.deletionTimestamp && pod.status?.phase === "Running" && c?.state?.running && (c.restartCount ?? 0) === 0 && `${pod.status?.podIP}:${PORT}` === sentinel.address);
  }
}

/**
 * The shell lines a `network: "none"` pod runs before its task: the enforcer programs a new pod shortly after it
 * got its address, so the task starts only once the pod can no longer reach the namespace's sentinel (a listener
 * pods without the policy do reach). A refused connection answers at once; a dropped one is given up after a second.
 */
export function isolationWait(address: string): string {
  const [ip, port] = address.split(":");
  return [
    `reach() { ( if command -v bash >/dev/null; then bash -c ': </dev/tcp/${ip}/${port}' & p=$!; (sleep 1; kill $p) & k=$!; wait $p; r=$?; kill $k; exit $r; else exec node -e 'const s=require("net").connect(${port},"${ip}");s.setTimeout(1000,()=>process.exit(1));s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1))'; fi ) >/dev/null 2>&1; }`,
    `i=0; while reach; do i=$((i+1)); if [ $i -ge 600 ]; then echo "[airlock] network isolation did not take effect within 60 s: the cluster's NetworkPolicy enforcer did not program this pod" >&2; exit 125; fi; sleep 0.1; done`,
  ].join("\n");
}

/** The init container that holds a user-image pod's task until its network isolation is in force. */
export function isolationWaitContainer(address: string, image: string, pullPolicy: string): V1Container {
  return {
    name: NETWORK_WAIT_CONTAINER, image, imagePullPolicy: pullPolicy, command: ["/bin/sh", "-c", isolationWait(address)],
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65534, capabilities: { drop: ["ALL"] } },
  };
}

/** Deletes a process's sentinel (when its backend closes). */
export async function removeSentinel(client: KubeClient, sentinel: Sentinel): Promise<void> {
  await deletePod(client, sentinel.pod, 0).catch(() => undefined);
}

/**
 * Deletes a replaced sentinel once no pod can still be waiting on it: a wait gives up after 60 s, and a sentinel
 * deleted under a waiting pod would let that pod's task start before the enforcer acted.
 */
export function retireSentinel(client: KubeClient, sentinel: Sentinel, retired: Set<Sentinel>): void {
  retired.add(sentinel);
  setTimeout(() => {
    retired.delete(sentinel);
    void removeSentinel(client, sentinel);
  }, 90_000).unref();
}
