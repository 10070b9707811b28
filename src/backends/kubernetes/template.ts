/**
 * `kubernetes.podTemplate` (and a task's own template): a pod read from a YAML or JSON file and merged under
 * the pod Airlock builds. Airlock's fields win; lists are joined; the template's container named "task" (or
 * its first container) is merged under the task container, so a template can add mounts, env or probes.
 */
import { readFileSync } from "node:fs";
import { loadYaml, type V1Container, type V1Pod } from "@kubernetes/client-node";
import { KubernetesError, messageOf } from "./errors.js";
import { TASK_CONTAINER } from "./spec.js";

/** Reads a pod template file; the error names the file and what is wrong with it. */
export function readPodTemplate(file: string): V1Pod {
  let data: unknown;
  try {
    data = loadYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new KubernetesError("invalid_task", `pod template ${file} could not be read (${messageOf(err)}); fix the file or kubernetes.podTemplate`, { cause: err });
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new KubernetesError("invalid_task", `pod template ${file} is not a pod (a YAML object with metadata and spec)`);
  }
  const pod = data as V1Pod & { kind?: string };
  if (pod.kind !== undefined && pod.kind !== "Pod") throw new KubernetesError("invalid_task", `pod template ${file} is a ${pod.kind}; write a Pod`);
  return pod;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

function merge(under: unknown, over: unknown): unknown {
  if (over === undefined) return under;
  if (Array.isArray(under) && Array.isArray(over)) return [...under, ...over];
  if (isPlain(under) && isPlain(over)) {
    const out: Plain = { ...under };
    for (const [k, v] of Object.entries(over)) out[k] = merge(under[k], v);
    return out;
  }
  return over;
}

/** The pod `ours` on top of `template` (which is not changed). */
export function mergePodTemplate(template: V1Pod, ours: V1Pod): V1Pod {
  const base = structuredClone(template) as V1Pod & { kind?: string; apiVersion?: string };
  const containers = base.spec?.containers ?? [];
  const baseTask = containers.find((c) => c.name === TASK_CONTAINER) ?? containers[0];
  const others = containers.filter((c) => c !== baseTask);
  const merged = merge({ ...base, spec: { ...base.spec, containers: [] } }, { ...ours, spec: { ...ours.spec, containers: [] } }) as V1Pod;
  const ourContainers = ours.spec?.containers ?? [];
  const spec = merged.spec as NonNullable<V1Pod["spec"]>;
  spec.containers = [
    ...ourContainers.map((c) => (c.name === TASK_CONTAINER && baseTask ? (merge({ ...baseTask, name: TASK_CONTAINER }, c) as V1Container) : c)),
    ...others,
  ];
  return merged;
}
