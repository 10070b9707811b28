/**
 * Deleting pods no try owns any more: labelled with this installation's owner, but their try is not running in
 * the store (the orchestrator died before it could delete them, or someone finished the try by hand). Ended pods
 * kept on purpose by `kubernetes.onFinish` stay. Payload Secrets left by a launch that died before its pod
 * existed (they have no owner to be collected with) are deleted too.
 */
import type { Store } from "../../store/store.js";
import type { AirlockConfig } from "../../config/config.js";
import { type KubeClient, createKubeClient } from "./client.js";
import { deletePod } from "./lifecycle.js";
import { LABELS, keyOf, ownerOf } from "./spec.js";

/** Deletes this installation's orphaned pods and payload Secrets; returns the deleted pods' names. */
export async function reapOrphanPods(store: Pick<Store, "getTry">, config: Pick<AirlockConfig, "kubernetes" | "stateDir">, client: KubeClient = createKubeClient(config.kubernetes), options: { secretGraceMs?: number } = {}): Promise<string[]> {
  const secretGraceMs = options.secretGraceMs ?? 5 * 60_000;
  const { core, namespace } = client;
  const labelSelector = `${LABELS.owner}=${ownerOf(config)}`;
  const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items;
  const reaped: string[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name;
    const key = keyOf(pod);
    if (!name || !key) continue;
    const t = await store.getTry(key);
    if (t?.state === "running") continue;
    const ended = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
    const keep = config.kubernetes.onFinish === "keep" || (config.kubernetes.onFinish === "keepFailed" && pod.status?.phase === "Failed");
    if (ended && keep) continue;
    await deletePod(client, name).then(() => reaped.push(name), () => undefined);
  }
  const live = new Set(pods.map((p) => p.metadata?.name));
  const secrets = (await core.listNamespacedSecret({ namespace, labelSelector })).items;
  for (const s of secrets) {
    const name = s.metadata?.name;
    if (!name || live.has(name) || (s.metadata?.ownerReferences?.length ?? 0) > 0) continue;
    // Created a moment ago by a launch still creating its pod: leave it for the next round.
    const age = Date.now() - new Date(s.metadata?.creationTimestamp ?? Date.now()).getTime();
    if (age >= secretGraceMs) await core.deleteNamespacedSecret({ name, namespace }).catch(() => undefined);
  }
  return reaped;
}
