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

/** Resources and network of a try: a task's own resources win per field; "host" from either side wins. */
export function effectiveLimits(config: AirlockConfig, task: SerializedTask): { resources: Resources | null; network: "none" | "host" } {
  if (!task.environment) return { resources: task.resources, network: task.network };
  const spec = loadEnvironmentSpec(config, task.environment);
  return {
    resources: mergeResources(task.resources, spec.resources),
    network: task.network === "host" || spec.network === "host" ? "host" : "none",
  };
}
