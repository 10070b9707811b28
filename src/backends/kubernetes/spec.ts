/**
 * Names, labels and resources of a try's pod. Labels carry identity only (never data or secrets); the exact
 * dag/task/run ids are annotations, since label values cannot hold every character a run id may contain.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { V1Pod, V1ResourceRequirements } from "@kubernetes/client-node";
import type { KubernetesProfile } from "../../config/kubernetes.js";
import { parseMemory } from "../../environments/resources.js";
import type { Resources } from "../../sdk/types.js";
import { tryIdentity, type TryKey } from "../types.js";
import { KubernetesError } from "./errors.js";

/** Label and annotation keys of every Airlock pod, Secret and ConfigMap. */
export const LABELS = {
  owner: "airlock/owner", dag: "airlock/dag", task: "airlock/task", run: "airlock/run", try: "airlock/try",
  tryId: "airlock/try-id", mode: "airlock/mode", runner: "airlock/runner",
} as const;
/** Annotations holding the exact ids (labels hold cleaned ones). */
export const ANNOTATIONS = { dag: "airlock/dag-id", task: "airlock/task-id", run: "airlock/run-id", try: "airlock/try-number", mapIndex: "airlock/map-index", nonce: "airlock/nonce" } as const;
/** Name of the container that runs the task in every Airlock pod. */
export const TASK_CONTAINER = "task";

/** Which installation (state folder) a pod belongs to, so one never reaps another's pods. */
export function ownerOf(config: { stateDir: string }): string {
  return createHash("sha256").update(path.resolve(config.stateDir)).digest("hex").slice(0, 16);
}

/** Hash of a try's identity: the same try always gets the same pod name, so it can never run twice. */
export function tryId(key: TryKey): string {
  return createHash("sha256").update(JSON.stringify(tryIdentity(key))).digest("hex").slice(0, 16);
}

function dnsPart(s: string, max: number): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, max).replace(/-+$/, "") || "x";
}

/** A label value: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
export function labelValue(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/** The pod (and payload Secret) name of a try: readable, at most 63 characters, deterministic. */
export function podName(key: TryKey): string {
  return `airlock-${dnsPart(key.dagId, 18)}-${dnsPart(key.taskId, 18)}-${key.tryNumber}-${tryId(key)}`;
}

/** Identity labels of a try's objects. */
export function tryLabels(key: TryKey, mode: "runner" | "pod", owner: string): Record<string, string> {
  return {
    [LABELS.owner]: owner, [LABELS.dag]: labelValue(key.dagId), [LABELS.task]: labelValue(key.taskId),
    [LABELS.run]: labelValue(key.runId), [LABELS.try]: String(key.tryNumber), [LABELS.tryId]: tryId(key), [LABELS.mode]: mode,
  };
}

/** Exact ids of a try, as annotations. */
export function tryAnnotations(key: TryKey, nonce: string | null): Record<string, string> {
  return {
    [ANNOTATIONS.dag]: key.dagId, [ANNOTATIONS.task]: key.taskId, [ANNOTATIONS.run]: key.runId, [ANNOTATIONS.try]: String(key.tryNumber),
    ...((key.mapIndex ?? -1) >= 0 ? { [ANNOTATIONS.mapIndex]: String(key.mapIndex) } : {}),
    // The nonce only keeps task output from forging events; it is no secret, and adoption needs it.
    ...(nonce ? { [ANNOTATIONS.nonce]: nonce } : {}),
  };
}

/** The try a pod belongs to, from its annotations; null for a pod without them. */
export function keyOf(pod: V1Pod): TryKey | null {
  const a = pod.metadata?.annotations ?? {};
  const tryNumber = Number(a[ANNOTATIONS.try]);
  const [dagId, taskId, runId] = [a[ANNOTATIONS.dag], a[ANNOTATIONS.task], a[ANNOTATIONS.run]];
  const mapIndex = Number(a[ANNOTATIONS.mapIndex] ?? -1);
  return dagId && taskId && runId && Number.isInteger(tryNumber) ? { dagId, taskId, runId, mapIndex, tryNumber } : null;
}

/** Picks the profile of a task: `resources.profile`, else a `resources:<name>` tag, else `__default__` if configured. */
export function resolveProfile(profiles: Record<string, KubernetesProfile>, resources: Resources | null, tags: readonly string[] = []): KubernetesProfile {
  const tagged = tags.find((t) => t.startsWith("resources:"))?.slice("resources:".length);
  const name = resources?.profile ?? tagged;
  if (name === undefined) return profiles.__default__ ?? {};
  const profile = profiles[name];
  if (!profile) {
    const known = Object.keys(profiles);
    throw new KubernetesError("invalid_task", `resource profile "${name}" is not configured; add kubernetes.profiles.${name} to the config${known.length ? ` or use one of ${known.join(", ")}` : ""}`);
  }
  return profile;
}

/** Memory in the form Kubernetes reads: whole MiB when exact, else bytes. */
function memoryQuantity(value: string | number): string {
  const bytes = parseMemory(value);
  if (bytes === undefined) throw new KubernetesError("invalid_task", `resources.memory "${String(value)}" is not a size; write e.g. "256Mi"`);
  return bytes % 1024 ** 2 === 0 ? `${bytes / 1024 ** 2}Mi` : String(bytes);
}

/** Cores of a Kubernetes cpu quantity ("500m", "2", 1.5). */
function cores(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  return v.endsWith("m") ? Number(v.slice(0, -1)) / 1000 : Number(v);
}

/**
 * Requests and limits of the task container. One rule: the profile's requests and limits stand unless the task's
 * `resources` override them; a task's memory or cpu (its own, or its environment's default where the profile says
 * nothing) is a hard limit on every backend, so it becomes both the request and the limit of that resource. The
 * executor fills the profile's limits into the task's resources (so sandbox and docker apply them too): a value
 * equal to the profile's limit is the profile's, not an override, and keeps the profile's lower request.
 */
export function containerResources(profile: KubernetesProfile, resources: Resources | null): V1ResourceRequirements {
  const requests: Record<string, string> = { ...(profile.requests ?? {}) } as Record<string, string>;
  const limits: Record<string, string> = { ...(profile.limits ?? {}) } as Record<string, string>;
  const profileMemory = profile.limits?.memory === undefined ? undefined : parseMemory(profile.limits.memory);
  if (resources?.memory !== undefined && parseMemory(resources.memory) !== profileMemory) requests.memory = limits.memory = memoryQuantity(resources.memory);
  if (resources?.cpu !== undefined && resources.cpu !== cores(profile.limits?.cpu)) requests.cpu = limits.cpu = `${Math.max(1, Math.round(resources.cpu * 1000))}m`;
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}

/** Applies a profile's placement and metadata to a pod (Airlock's own labels stay). */
export function applyProfile(pod: V1Pod, profile: KubernetesProfile): void {
  const meta = (pod.metadata ??= {});
  meta.labels = { ...(profile.labels ?? {}), ...(meta.labels ?? {}) };
  meta.annotations = { ...(profile.annotations ?? {}), ...(meta.annotations ?? {}) };
  const spec = pod.spec;
  if (!spec) return;
  if (profile.nodeSelector) spec.nodeSelector = { ...profile.nodeSelector, ...(spec.nodeSelector ?? {}) };
  if (profile.tolerations) spec.tolerations = [...profile.tolerations, ...(spec.tolerations ?? [])];
}
