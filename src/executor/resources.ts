/** Effective limits of a try: the task's own, over its environment's defaults. */
import type { AirlockConfig } from "../config/config.js";
import type { SerializedTask } from "../sdk/serialized.js";
import type { Resources } from "../sdk/types.js";
import { loadEnvironmentSpec, mergeResources, parseMemory } from "../environments/index.js";

/** MiB of a memory quantity (rounded), or null. */
export function memoryMiB(v: string | number | undefined | null): number | null {
  const b = v === undefined || v === null ? undefined : parseMemory(v);
  return b === undefined ? null : Math.round(b / 1024 ** 2);
}

/** A task names a resource profile that the config does not define. */
export class ResourceProfileError extends Error {
  override name = "ResourceProfileError";
}

function cores(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  return v.endsWith("m") ? Number(v.slice(0, -1)) / 1000 : Number(v);
}

/**
 * The task's resources with its profile's limits (kubernetes.profiles, by `resources.profile` or a
 * `resources:<name>` tag, else `__default__`) filled in under its own fields, so sandbox and docker apply them too.
 */
export function withProfile(config: AirlockConfig, task: SerializedTask): Resources | null {
  const profiles = config.kubernetes.profiles;
  const name = task.resources?.profile ?? ("__default__" in profiles ? "__default__" : undefined);
  if (name === undefined) return task.resources;
  const profile = profiles[name];
  if (!profile) {
    throw new ResourceProfileError(`task "${task.id}" asks for resource profile "${name}", which is not in kubernetes.profiles of the config: define it there (with limits: { cpu, memory }) or fix the tag resources:${name}`);
  }
  const limits: Resources = {};
  if (profile.limits?.memory !== undefined) limits.memory = profile.limits.memory;
  const cpu = cores(profile.limits?.cpu);
  if (cpu !== undefined) limits.cpu = cpu;
  const own = { ...(task.resources ?? {}) };
  delete own.profile;
  return { ...limits, ...own, profile: name };
}

/** Resources and network of a try: a task's own resources win per field; "host" from either side wins. */
export function effectiveLimits(config: AirlockConfig, task: SerializedTask): { resources: Resources | null; network: "none" | "host"; reuse: boolean } {
  const resources = withProfile(config, task);
  if (!task.environment) return { resources, network: task.network, reuse: task.reuse ?? false };
  const spec = loadEnvironmentSpec(config, task.environment);
  return {
    resources: mergeResources(resources, spec.resources),
    network: task.network === "host" || spec.network === "host" ? "host" : "none",
    // The task's own setting wins over its environment's.
    reuse: task.reuse ?? spec.reuse,
  };
}
