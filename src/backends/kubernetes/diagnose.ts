/**
 * Reading a pod's status the way a person reads `kubectl describe`: is it still starting, running, ended, or
 * has it failed for a reason that is not the task's (image, scheduling, eviction, deletion, node loss)? Each
 * failure gets a named error that quotes the pod's own events and says what to do.
 */
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import { KubernetesError, type KubernetesErrorCode } from "./errors.js";
import { TASK_CONTAINER } from "./spec.js";

/** Name of the init container that holds a user pod until its network isolation is in force (see network.ts). */
export const NETWORK_WAIT_CONTAINER = "airlock-network-wait";

/** What a pod's status says about its try. */
export type PodState =
  | { kind: "starting"; why: string }
  | { kind: "running" }
  | { kind: "ended"; code: number | null; reason: string | null; oomKilled: boolean; message: string | null }
  | { kind: "failed"; code: KubernetesErrorCode; why: string };

/** Error type names recorded on the try for each pod failure (what `airlock tasks states` shows). */
export const ERROR_TYPES: Partial<Record<KubernetesErrorCode, string>> = {
  image_pull_failed: "PodImagePullFailed", image_missing: "PodImageMissing", unschedulable: "PodUnschedulable",
  startup_timeout: "PodStartupTimeout", evicted: "PodEvicted", deleted: "PodDeleted", node_lost: "PodNodeLost",
  pod_failed: "PodFailed", result_fetch_failed: "ResultFetchFailed", inputs_failed: "InputDeliveryFailed",
  network_unenforced: "NetworkPolicyNotEnforced",
};

const PULL_FAILURES = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageInspect", "RegistryUnavailable", "SignatureValidationFailed"]);
const CONFIG_FAILURES = new Set(["CreateContainerConfigError", "CreateContainerError", "RunContainerError", "PreCreateHookError", "PreStartHookError"]);
/**
 * Config errors the kubelet retries by itself and that pass: its secret and configmap caches not yet synced
 * (a busy API server right after the try's Secret was created). They wait like any other start, bounded by
 * kubernetes.startupTimeout; a Secret that really is missing still fails at once.
 */
const TRANSIENT_CONFIG = /failed to sync (secret|configmap) cache|timed out waiting for the condition/i;

/** Classifies a pod; `deletedByUs` tells a deletion Airlock asked for from one by someone else. */
export function podState(pod: V1Pod, deletedByUs: boolean): PodState {
  const status = pod.status ?? {};
  const task = status.containerStatuses?.find((c) => c.name === TASK_CONTAINER);
  const disruption = status.conditions?.find((c) => c.type === "DisruptionTarget" && c.status === "True");
  if (status.reason === "Evicted" || disruption?.reason === "EvictionByEvictionAPI" || disruption?.reason === "TerminationByKubelet" || disruption?.reason === "PreemptionByScheduler") {
    return { kind: "failed", code: "evicted", why: status.message ?? disruption?.message ?? "the pod was evicted" };
  }
  if (status.reason === "NodeLost" || disruption?.reason === "DeletionByTaintManager" || disruption?.reason === "DeletionByPodGC") {
    return { kind: "failed", code: "node_lost", why: status.message ?? disruption?.message ?? `node ${pod.spec?.nodeName ?? "?"} was lost` };
  }
  // After an eviction the container is terminated too (exit 137): the eviction is the story, not the exit code.
  const terminated = task?.state?.terminated;
  if (terminated) {
    return { kind: "ended", code: terminated.exitCode ?? null, reason: terminated.reason ?? null, oomKilled: terminated.reason === "OOMKilled", message: terminated.message ?? null };
  }
  if (pod.metadata?.deletionTimestamp && !deletedByUs) {
    return { kind: "failed", code: "deleted", why: `the pod was deleted at ${new Date(pod.metadata.deletionTimestamp).toISOString()} by someone other than Airlock` };
  }
  // The network wait (an init container) that gave up: the enforcer never programmed the pod.
  const wait = status.initContainerStatuses?.find((c) => c.name === NETWORK_WAIT_CONTAINER)?.state?.terminated;
  if (wait && wait.exitCode !== 0) {
    return { kind: "failed", code: "network_unenforced", why: `network isolation did not take effect (the ${NETWORK_WAIT_CONTAINER} init container exited with code ${wait.exitCode}${wait.reason ? `, ${wait.reason}` : ""}): the cluster's NetworkPolicy enforcer did not program this pod` };
  }
  const waiting = task?.state?.waiting;
  if (waiting?.reason === "ErrImageNeverPull") return { kind: "failed", code: "image_missing", why: waiting.message ?? waiting.reason };
  if (waiting?.reason && PULL_FAILURES.has(waiting.reason)) return { kind: "failed", code: "image_pull_failed", why: waiting.message ?? waiting.reason };
  if (waiting?.reason && CONFIG_FAILURES.has(waiting.reason)) {
    if (TRANSIENT_CONFIG.test(waiting.message ?? "")) return { kind: "starting", why: `${waiting.reason}: ${waiting.message} (the kubelet retries)` };
    return { kind: "failed", code: "pod_failed", why: waiting.message ?? waiting.reason };
  }
  const scheduled = status.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") return { kind: "failed", code: "unschedulable", why: `${scheduled.message ?? "no node fits the pod"}${placement(pod)}` };
  if (status.phase === "Failed") return { kind: "failed", code: "pod_failed", why: status.message ?? status.reason ?? "the pod failed before its task started" };
  if (task?.state?.running) return { kind: "running" };
  return { kind: "starting", why: waiting?.reason ?? (scheduled?.status === "True" ? "container being created" : "waiting to be scheduled") };
}

/** What the pod asks of a node (selector, tolerations, requests), for an unschedulable pod's message. */
function placement(pod: V1Pod): string {
  const spec = pod.spec;
  const parts: string[] = [];
  const selector = Object.entries(spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`);
  if (selector.length) parts.push(`nodeSelector ${selector.join(",")}`);
  if (spec?.affinity?.nodeAffinity) parts.push("a node affinity");
  const tolerations = (spec?.tolerations ?? []).map((t) => `${t.key ?? "*"}${t.value ? `=${t.value}` : ""}:${t.effect ?? "*"}`);
  parts.push(tolerations.length ? `tolerations ${tolerations.join(",")}` : "no tolerations");
  const requests = spec?.containers.find((c) => c.name === TASK_CONTAINER)?.resources?.requests as Record<string, string> | undefined;
  if (requests && Object.keys(requests).length) parts.push(`requests ${Object.entries(requests).map(([k, v]) => `${k}=${v}`).join(",")}`);
  return ` (the pod asks for ${parts.join("; ")})`;
}

/** The pod's events as `kubectl describe` lists them (oldest first, at most the last 12). */
export function quoteEvents(events: CoreV1Event[]): string {
  const sorted = [...events].sort((a, b) => time(a) - time(b)).slice(-12);
  return sorted.map((e) => `  ${e.type ?? "Normal"} ${e.reason ?? ""}: ${(e.message ?? "").trim()}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ""}`).join("\n");
}

function time(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

const ADVICE: Partial<Record<KubernetesErrorCode, (image: string) => string>> = {
  image_pull_failed: (image) => `check the image name and tag (${image}), that its registry is reachable from the nodes, and kubernetes.imagePullSecrets`,
  image_missing: (image) => `the image ${image} is not on the node and its pull policy is Never: load it into the node (scripts/k8s/load-image.sh ${image}) or set kubernetes.registry so Airlock pushes environment images there`,
  unschedulable: () => "no node can take the pod: lower the task's resources (memory, cpu), fix the resource profile's nodeSelector or tolerations, or add nodes",
  startup_timeout: () => "the pod did not reach Running in time: read the events above, or raise kubernetes.startupTimeout if the image is large",
  evicted: () => "the node evicted the pod (memory or disk pressure, or preemption): raise the task's memory request or free the node; the try is retried if it has retries left",
  deleted: () => "someone deleted the try's pod (kubectl delete, a namespace cleanup, an operator): do not delete Airlock's pods by hand; clear the task to run it again",
  node_lost: () => "the node running the pod stopped answering: the try is retried if it has retries left",
  network_unenforced: () => "the NetworkPolicy enforcer (kube-router, Calico, Cilium…) did not program the pod in time: check that it runs on the pod's node, or give the task network: \"host\"",
  pod_failed: () => "Kubernetes could not start the task's container: read the events above (a missing Secret or ConfigMap, a bad volume or securityContext)",
};

/** A named error for a failed pod, quoting its events, with advice. */
export function podFailure(code: KubernetesErrorCode, podName: string, image: string, why: string, events: CoreV1Event[]): KubernetesError {
  const quoted = quoteEvents(events);
  const advice = ADVICE[code]?.(image) ?? "read the pod's events above";
  return new KubernetesError(code, `pod ${podName}: ${why}${quoted ? `\nevents of the pod:\n${quoted}` : ""}\n${advice}`);
}
