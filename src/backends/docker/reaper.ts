/**
 * Removing containers no try owns any more: labelled by Airlock, but their try is not running in the store
 * (the orchestrator died before it could remove them, or the try was finished by someone else).
 */
import type Docker from "dockerode";
import type { Store } from "../../store/store.js";
import type { AirlockConfig } from "../../config/config.js";
import { createDockerClient } from "./client.js";
import { LABELS, ownerOf } from "./spec.js";

/**
 * Removes this installation's containers whose try is not running in the store; returns their ids. Run it at
 * start-up (after adoption) and now and then: containers of running tries, and of other installations, stay.
 */
export async function reapOrphans(store: Pick<Store, "getTry">, config: Pick<AirlockConfig, "docker" | "stateDir">, docker: Docker = createDockerClient(config.docker)): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.owner}=${ownerOf(config)}`] } });
  const removed: string[] = [];
  for (const c of list) {
    const labels = c.Labels ?? {};
    const runId = labels[LABELS.run];
    const taskId = labels[LABELS.task];
    const tryNumber = Number(labels[LABELS.try]);
    if (!runId || !taskId || !Number.isInteger(tryNumber)) continue;
    // Containers made before mapping existed have no map index label: they belong to unmapped tries.
    const mapIndex = Number(labels[LABELS.mapIndex] ?? -1);
    const t = await store.getTry({ runId, taskId, mapIndex, tryNumber });
    if (t?.state === "running") continue;
    // A container operator's finished container kept on purpose (autoRemove never/success) is evidence, not an orphan.
    const keep = labels[LABELS.autoRemove];
    if (c.State !== "running" && (keep === "never" || keep === "success")) continue;
    await docker.getContainer(c.Id).remove({ force: true, v: true }).then(() => removed.push(c.Id), () => undefined);
  }
  return removed;
}
