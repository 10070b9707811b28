/**
 * Supervising one try's pod from creation (or adoption) to its end: follow its status through the backend's
 * shared watch (no polling per pod), start the log follower once
 * the container runs, collect a large result, turn pod failures into named errors, and delete the pod (always
 * after a kill or a failure of the pod itself; otherwise as `onFinish` says), so no pod outlives its try.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { AirlockConfig } from "../../config/config.js";
import type { ExitInfo, RunningTry, TryHandle } from "../types.js";
import type { OutputDemuxer } from "../docker/output.js";
import type { KubeClient } from "./client.js";
import { ERROR_TYPES, podFailure, podState, type PodState } from "./diagnose.js";
import { KubernetesError, messageOf, statusOf } from "./errors.js";
import type { LogFollower } from "./follow.js";
import { TASK_CONTAINER } from "./spec.js";
import type { PodWatch } from "./watch.js";

/** What the kubernetes backend stores to adopt a try after a restart. */
export interface PodHandle extends TryHandle {
  backend: "kubernetes";
  podName: string;
  namespace: string;
  /** "runner": Airlock's runner in an environment image; "pod": a user's image (kubernetesPod, container). */
  mode: "runner" | "pod";
  /** Tag of event lines in the log (runner mode); no secret. */
  nonce: string | null;
  image: string;
}

/** Decides the end of a user-image try once its output is drained (writes its result or error event); may restate the exit. */
export type OnPodEnded = (exit: ExitInfo, pod: V1Pod | null, demux: OutputDemuxer) => Promise<ExitInfo | void>;

/** Options of `supervisePod`. */
export interface PodSuperviseOptions {
  client: KubeClient;
  handle: PodHandle;
  demux: OutputDemuxer;
  follower: LogFollower;
  /** Shared with the follower: set once the container has ended or the pod is gone. */
  ended: { value: boolean };
  settings: Pick<AirlockConfig["kubernetes"], "startupTimeoutMs" | "onFinish">;
  note: (line: string) => void;
  /** Resolves when a large result has been collected (or failed); null when there is none. */
  collecting: () => Promise<void> | null;
  onEnded?: OnPodEnded;
  /** The backend's shared watch of its pods. */
  watch: PodWatch;
  /** Called once when the task container first runs (e.g. to copy inputs in); a rejection fails the try. */
  onRunning?: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long the API server may stay unreachable before a try gives up on its pod. */
const UNAVAILABLE_MS = 120_000;

async function readPod(client: KubeClient, name: string): Promise<V1Pod | null> {
  try {
    return await client.core.readNamespacedPod({ name, namespace: client.namespace });
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

/**
 * The pod as the shared watch knows it; a pod the watch has not reported yet (its creation's event is on the way,
 * or the watch is reconnecting) is read once directly after a few seconds, so a missed event cannot stall a try.
 */
async function current(watch: PodWatch, client: KubeClient, name: string, unknownSince: { at: number | null }): Promise<V1Pod | null | undefined> {
  const known = watch.get(name);
  if (known !== undefined) {
    unknownSince.at = null;
    return known;
  }
  unknownSince.at ??= Date.now();
  if (Date.now() - unknownSince.at < 3000) return undefined;
  unknownSince.at = Date.now();
  const pod = await readPod(client, name).catch(() => undefined);
  if (pod) watch.seed(pod);
  return pod;
}

/** Deletes a try's pod with a short grace; its payload Secret goes with it (owner reference). */
export async function deletePod(client: KubeClient, name: string, graceSeconds = 1): Promise<void> {
  await client.core.deleteNamespacedPod({ name, namespace: client.namespace, gracePeriodSeconds: graceSeconds, propagationPolicy: "Background" }).catch((err: unknown) => {
    if (statusOf(err) !== 404) throw err;
  });
}

async function eventsOf(client: KubeClient, name: string) {
  return client.core.listNamespacedEvent({ namespace: client.namespace, fieldSelector: `involvedObject.name=${name}` }).then((l) => l.items, () => []);
}

function memoryLimitOf(pod: V1Pod | null): string | null {
  const c = pod?.spec?.containers.find((x) => x.name === TASK_CONTAINER);
  return (c?.resources?.limits as Record<string, string> | undefined)?.memory ?? null;
}

/** Supervises a created (or adopted) pod; `exited` resolves once its output is complete and it is deleted (when it should be). */
export function supervisePod(o: PodSuperviseOptions): RunningTry {
  const { client, handle } = o;
  let killed: string | null = null;
  let deleting = false;
  const release = o.watch.acquire();
  const exited = (async (): Promise<ExitInfo> => {
    let pod: V1Pod | null = null;
    let state: PodState = { kind: "starting", why: "being created" };
    let failure: KubernetesError | null = null;
    let lastWhy = "";
    const unknownSince = { at: null as number | null };
    let seen = -1;
    let started: Promise<void> | null = null;
    let startFailure: KubernetesError | null = null;
    for (;;) {
      if (seen >= 0) await o.watch.changed(handle.podName, 1000, seen);
      seen = o.watch.version(handle.podName);
      const known = await current(o.watch, client, handle.podName, unknownSince);
      if (o.watch.refused) {
        failure = new KubernetesError("forbidden", o.watch.refused);
        break;
      }
      const down = o.watch.downSince;
      if (down !== null && Date.now() - down > UNAVAILABLE_MS) {
        failure = new KubernetesError("cluster_unavailable", `the Kubernetes API has not answered for ${Math.round((Date.now() - down) / 1000)} s (${o.watch.lastError ?? "no connection"}); the pod ${handle.podName} may still run: a restarted orchestrator adopts it`);
        break;
      }
      if (known === undefined) continue;
      pod = known;
      if (!pod) {
        if (!killed) failure = podFailure("deleted", handle.podName, handle.image, "the pod disappeared while its try ran (deleted by someone else, or by the node's garbage collection)", []);
        break;
      }
      state = podState(pod, deleting);
      if (state.kind === "failed") {
        if (!killed) failure = podFailure(state.code, handle.podName, handle.image, state.why, await eventsOf(client, handle.podName));
        break;
      }
      if (startFailure) {
        failure = startFailure;
        break;
      }
      if (state.kind === "running" && o.onRunning && !started && !killed) {
        started = o.onRunning().catch((err: unknown) => {
          startFailure = err instanceof KubernetesError ? err : new KubernetesError("inputs_failed", messageOf(err), { cause: err });
        });
      }
      if (state.kind !== "starting") o.follower.start();
      if (state.kind === "ended") break;
      if (state.kind === "starting") {
        if (state.why !== lastWhy) {
          lastWhy = state.why;
          o.note(`pod ${handle.podName}: ${state.why}`);
          o.follower.save();
        }
        const created = pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : Date.now();
        if (!killed && Date.now() - created > o.settings.startupTimeoutMs) {
          failure = podFailure("startup_timeout", handle.podName, handle.image, `not Running after ${Math.round(o.settings.startupTimeoutMs / 1000)} s (${state.why})`, await eventsOf(client, handle.podName));
          break;
        }
      }
    }
    o.ended.value = true;
    await o.follower.finish();
    await o.collecting()?.catch((err: unknown) => {
      failure ??= err instanceof KubernetesError ? err : new KubernetesError("result_fetch_failed", messageOf(err), { cause: err });
    });
    const code = state.kind === "ended" ? state.code : null;
    const oomKilled = state.kind === "ended" && state.oomKilled;
    const limit = memoryLimitOf(pod);
    let exit: ExitInfo = killed
      ? { code: null, signal: "SIGKILL", detail: `killed: ${killed}` }
      : {
        code: failure ? null : code, signal: null, oomKilled,
        ...(oomKilled ? { detail: `OOMKilled: the container exceeded its memory limit${limit ? ` of ${limit}` : ""}` } : code !== 0 && state.kind === "ended" ? { detail: `pod ${handle.podName} container exited with code ${code}${state.reason ? ` (${state.reason})` : ""}${evicted(pod)}` } : {}),
      };
    if (failure) {
      const f: KubernetesError = failure;
      o.demux.writeEvent(JSON.stringify({ seq: o.demux.lastSeq + 1, type: "error", error: { type: ERROR_TYPES[f.code] ?? "KubernetesError", message: f.message } }), o.demux.lastSeq + 1);
      exit = { code: null, signal: null, detail: f.message };
    } else if (!killed && o.onEnded) {
      try {
        exit = (await o.onEnded(exit, pod, o.demux)) ?? exit;
      } catch (err) {
        exit = { ...exit, detail: `${exit.detail ?? ""}\ncollecting the pod's result failed: ${messageOf(err)}`.trim() };
      }
    }
    o.demux.close();
    const succeeded = !killed && !failure && code === 0 && !oomKilled;
    const keep = o.settings.onFinish === "keep" || (o.settings.onFinish === "keepFailed" && !succeeded);
    // A kill, a timeout and a pod Kubernetes failed always delete: such pods are not evidence worth a slot.
    if (pod && (!keep || killed || (failure && state.kind !== "ended"))) await deletePod(client, handle.podName).catch(() => undefined);
    else if (pod && keep) o.note(`pod ${handle.podName} kept (kubernetes.onFinish is ${o.settings.onFinish}); delete it with kubectl delete pod ${handle.podName} -n ${client.namespace}`);
    return exit;
  })().finally(() => {
    // kill() still waits for the pod to be gone; otherwise the try's pod is no longer of interest.
    if (!killed) {
      release();
      o.watch.forget(handle.podName);
    }
  });
  return {
    handle,
    exited,
    async kill(reason: string) {
      killed ??= reason;
      deleting = true;
      await deletePod(client, handle.podName).catch(() => undefined);
      await Promise.race([exited, sleep(60_000)]);
      // The slot is free only once the pod is gone, not merely terminating.
      const until = Date.now() + 30_000;
      while (Date.now() < until && o.watch.get(handle.podName) !== null && (await readPod(client, handle.podName).catch(() => null))) await o.watch.changed(handle.podName, 1000);
      release();
      o.watch.forget(handle.podName);
    },
  };
}

/** The kubelet's reason for evicting a pod (over an emptyDir's sizeLimit, say), or "". */
function evicted(pod: V1Pod | null): string {
  return pod?.status?.reason === "Evicted" ? `; evicted by the kubelet: ${pod.status.message ?? "no message"}` : "";
}
