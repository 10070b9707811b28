/**
 * The `kubernetes` backend: each try is a pod in the configured namespace. Runner mode runs Airlock's runner
 * (from an immutable ConfigMap, never baked into the image) in the environment's image with the payload in a
 * per-try Secret owned by the pod; events come back as nonce-tagged log lines, large results through `exec`.
 * Pod names are derived from the try, so one try can never have two pods, and a restarted orchestrator adopts
 * the pod by name and resumes its log from a saved cursor.
 */
import { prepareTryFiles } from "../try-files.js";
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Pod } from "@kubernetes/client-node";
import type { AirlockConfig } from "../../config/config.js";
import { IMAGE_ENVIRONMENT_ROOT } from "../../environments/targets/docker.js";
import type { Backend, LaunchRequest, RunningTry, TryHandle } from "../types.js";
import { OutputDemuxer, writtenSoFar } from "../docker/output.js";
import { readEvents } from "../../executor/outcome.js";
import { type KubeClient, checkAccess, createKubeClient } from "./client.js";
import { KubernetesError, messageOf, statusOf } from "./errors.js";
import { LogFollower } from "./follow.js";
import { clusterImage } from "./images.js";
import { type OnPodEnded, type PodHandle, supervisePod } from "./lifecycle.js";
import { rawLinesAfter, readCursor } from "./logs.js";
import { type ResultRef, collectResult } from "./result.js";
import { RUNNER_ROOT, type RunnerBundle, ensureRunnerConfigMap, readRunnerBundle } from "./runner-bundle.js";
import { deliverInputs } from "./inputs.js";
import { NETWORK_LABEL, type Sentinel, ensureNetworkIsolation, removeSentinel, retireSentinel, sentinelAlive } from "./network.js";
import { containerRunnerCommand, isPythonTask } from "../python-runner.js";
import { type PodInput, payloadSecret, podPayload, runnerPod } from "./runner-pod.js";
import { PodWatch } from "./watch.js";
import { ANNOTATIONS, LABELS, applyProfile, containerResources, ownerOf, podName, resolveProfile, tryAnnotations, tryLabels } from "./spec.js";
import { mergePodTemplate, readPodTemplate } from "./template.js";
import { scratchBytes } from "../../environments/resources.js";

export { reapOrphanPods } from "./reaper.js";

/** This installation's built dist/ folder (three levels up from this file in both src/ and dist/). */
const AIRLOCK_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "dist");

type Config = Pick<AirlockConfig, "project" | "docker" | "kubernetes" | "environmentsFolder" | "projectDir" | "stateDir">;

/** Options of the kubernetes backend. */
export interface KubernetesBackendOptions {
  /** Built `dist/` folder the runner bundle is read from. @default this installation's */
  distDir?: string;
}

function note(request: Pick<LaunchRequest, "rawLogPath">, line: string): void {
  appendFileSync(request.rawLogPath, `[airlock] ${line}\n`, { mode: 0o600 });
}

const cursorFile = (tryDir: string) => path.join(tryDir, "log-cursor.json");

/** Tags of a serialized task, when the task model has them (a `resources:<name>` tag picks a profile). */
function tagsOf(task: unknown): string[] {
  const tags = (task as { tags?: unknown }).tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
}

/** Creates the kubernetes backend. */
export function createKubernetesBackend(config: Config, options: KubernetesBackendOptions = {}): Backend {
  const settings = config.kubernetes;
  const owner = ownerOf(config);
  let client: KubeClient | null = null;
  let bundle: Promise<RunnerBundle> | null = null;
  const kube = () => (client ??= createKubeClient(settings));
  let watch: PodWatch | null = null;
  // One watch of this installation's pods serves every try of this process.
  const podWatch = () => (watch ??= new PodWatch(kube(), `${LABELS.owner}=${owner}`));

  function runnerBundle(): Promise<RunnerBundle> {
    bundle ??= (async () => {
      const b = readRunnerBundle(options.distDir ?? AIRLOCK_DIST);
      await ensureRunnerConfigMap(kube(), b);
      return b;
    })();
    return bundle.catch((err: unknown) => {
      bundle = null;
      throw err;
    });
  }

  /** Follower, demuxer and supervision of a pod, for a launch or an adoption. */
  async function watchPod(request: Pick<LaunchRequest, "tryDir" | "rawLogPath" | "eventsPath" | "scratchDir">, handle: PodHandle, masks: string[], adopted: boolean, onEnded?: OnPodEnded, inputs: PodInput[] = []): Promise<RunningTry> {
    const cursor = readCursor(cursorFile(request.tryDir));
    const already = adopted ? { rawLines: rawLinesAfter(request.rawLogPath, cursor), maxSeq: (await writtenSoFar(request.rawLogPath, request.eventsPath)).maxSeq } : undefined;
    const demux = new OutputDemuxer({ rawLogPath: request.rawLogPath, eventsPath: request.eventsPath, nonce: handle.nonce, masks }, already);
    const ended = { value: false };
    let collecting: Promise<void> | null = null;
    const follower = new LogFollower({
      client: kube(), pod: handle.podName, demux, cursor, cursorPath: cursorFile(request.tryDir), rawLogPath: request.rawLogPath,
      ended: () => ended.value, nonce: handle.nonce,
      onLargeResult: (ref: ResultRef) => {
        collecting ??= collectResult(kube(), handle.podName, ref, request.scratchDir);
        // Awaited when the pod has ended; until then a failure must not count as unhandled.
        collecting.catch(() => undefined);
      },
    });
    // The raw log so far (the backend's own notes) is before the cursor: a restart must not skip task lines for it.
    if (!adopted) follower.save();
    else {
      // The earlier orchestrator saw the large result's event but died before the copy was done: copy it now.
      const result = readEvents(request.eventsPath).find((e) => e.type === "result");
      if (result?.type === "result" && "ref" in result.value && !existsSync(path.join(request.scratchDir, result.value.ref))) {
        collecting = collectResult(kube(), handle.podName, result.value, request.scratchDir);
        collecting.catch(() => undefined);
      }
    }
    return supervisePod({
      client: kube(), watch: podWatch(), handle, demux, follower, ended, settings, onEnded,
      ...(inputs.length ? {
        onRunning: async () => {
          if (!await deliverInputs(kube(), handle.podName, inputs, adopted)) return;
          note(request, `${inputs.length} upstream XCom(s) of ${Math.round(inputs.reduce((n, i) => n + i.size, 0) / 1024)} KiB copied into the pod`);
        },
      } : {}),
      note: (line) => note(request, line),
      collecting: () => collecting,
    });
  }

  /** Creates the payload Secret and the pod; a pod of this try that already exists is never replaced. */
  async function createPod(pod: V1Pod, secret: ReturnType<typeof payloadSecret> | null): Promise<V1Pod> {
    const { core, namespace } = kube();
    const name = pod.metadata?.name as string;
    const twice = () => new KubernetesError("pod_failed", `pod ${name} of this try already exists: a try never runs twice; the orchestrator adopts it after a restart`);
    // The Secret comes first (a pod whose Secret is missing would fail its mount or env), then the pod, then the
    // Secret's owner reference; a pod that exists is found by the create's 409 (or, with a Secret, just below).
    if (secret) {
      try {
        await core.createNamespacedSecret({ namespace, body: secret });
      } catch (err) {
        if (statusOf(err) !== 409) throw new KubernetesError("cluster_unavailable", `creating the payload Secret ${name} failed: ${messageOf(err)}`, { cause: err });
        if (await core.readNamespacedPod({ name, namespace }).then(() => true, () => false)) throw twice();
        // Left by a launch that died before its pod existed: replace it.
        await core.deleteNamespacedSecret({ name, namespace }).catch(() => undefined);
        await core.createNamespacedSecret({ namespace, body: secret });
      }
    }
    let created: V1Pod;
    try {
      created = await core.createNamespacedPod({ namespace, body: pod });
    } catch (err) {
      if (statusOf(err) === 409) throw twice();
      if (secret) await core.deleteNamespacedSecret({ name, namespace }).catch(() => undefined);
      throw new KubernetesError(statusOf(err) === 403 ? "forbidden" : "pod_failed", `creating pod ${name} in namespace ${namespace} failed: ${messageOf(err)}`, { cause: err });
    }
    if (secret) {
      // Owned by the pod: Kubernetes deletes the payload with the pod, whoever deletes the pod.
      const ownerReferences = [{ apiVersion: "v1", kind: "Pod", name, uid: created.metadata?.uid as string, blockOwnerDeletion: false }];
      await core.patchNamespacedSecret({ name, namespace, body: [{ op: "add", path: "/metadata/ownerReferences", value: ownerReferences }] });
    }
    podWatch().seed(created);
    return created;
  }

  /** Placement shared by every pod of a try: profile, network isolation label, then the pod template under it all. */
  function place(pod: V1Pod, request: LaunchRequest): V1Pod {
    applyProfile(pod, resolveProfile(settings.profiles, request.resources, tagsOf(request.payload.operator)));
    if (request.network === "none") (pod.metadata ??= {}).labels = { ...(pod.metadata?.labels ?? {}), [NETWORK_LABEL]: "none" };
    return templated(pod);
  }
  const templated = (pod: V1Pod) => (settings.podTemplate ? mergePodTemplate(readPodTemplate(settings.podTemplate), pod) : pod);

  type Isolation = { promise: Promise<Sentinel>; failedAt: number | null; sentinel: Sentinel | null };
  let isolation: Isolation | null = null;
  /** Sentinels replaced by a fresh proof, deleted once no pod can be waiting on them (or when the backend closes). */
  const retired = new Set<Sentinel>();
  /**
   * The namespace's deny-all policy, proven enforced by this process (a failure is retried after a minute). The
   * proof's sentinel is checked alive for every try: a try's wait trusts "unreachable" only while it lives.
   */
  async function networkIsolation(): Promise<Sentinel> {
    const fresh = isolation && (isolation.sentinel ? Date.now() < isolation.sentinel.until : isolation.failedAt === null || Date.now() - isolation.failedAt < 60_000);
    if (isolation && fresh) {
      const current = isolation;
      const sentinel = await current.promise;
      if (await sentinelAlive(kube(), sentinel)) return sentinel;
      if (isolation === current) {
        isolation = null;
        retireSentinel(kube(), sentinel, retired);
      }
      return networkIsolation();
    }
    const old = isolation?.sentinel;
    if (old) retireSentinel(kube(), old, retired);
    const entry: Isolation = { promise: Promise.resolve(null as unknown as Sentinel), failedAt: null, sentinel: null };
    entry.promise = (async () => {
      const { image, pullPolicy } = await clusterImage(config, null, () => undefined);
      return (entry.sentinel = await ensureNetworkIsolation(kube(), image, pullPolicy, templated));
    })();
    entry.promise.catch(() => {
      entry.failedAt = Date.now();
    });
    isolation = entry;
    return entry.promise;
  }

  async function launchRunner(request: LaunchRequest, sentinel: Sentinel | null): Promise<RunningTry> {
    const env = request.environment;
    const { image, pullPolicy } = await clusterImage(config, env, (line) => note(request, line));
    const b = await runnerBundle();
    if (isPythonTask(request.payload) && !env?.python) {
      throw new KubernetesError("invalid_task", `python task "${request.key.taskId}" needs an environment with a requirements.txt on the kubernetes backend (its image provides the interpreter); ${env ? `add environments/${env.name}/requirements.txt (it may be empty)` : "give it environment: \"<name>\""}`);
    }
    const { files, items, inputs } = podPayload(request, env ? IMAGE_ENVIRONMENT_ROOT : null);
    const name = podName(request.key);
    const labels = tryLabels(request.key, "runner", owner);
    const profile = resolveProfile(settings.profiles, request.resources, tagsOf(request.payload.operator));
    if (request.resources?.pids) note(request, `resources.pids (${request.resources.pids}) is enforced on kubernetes by the node's podPidsLimit, not per pod`);
    const pod = place(runnerPod({
      name, labels, annotations: tryAnnotations(request.key, request.payload.nonce), image, pullPolicy, bundle: b,
      tryNumber: request.key.tryNumber, resources: containerResources(profile, request.resources),
      scratchBytes: scratchBytes(request.resources),
      serviceAccountName: settings.serviceAccountName, imagePullSecrets: settings.imagePullSecrets, waitForInputs: inputs.length > 0,
      runner: containerRunnerCommand(request.payload, RUNNER_ROOT, IMAGE_ENVIRONMENT_ROOT), payloadItems: items, isolatedFrom: sentinel?.address ?? null,
    }), request);
    await createPod(pod, payloadSecret(name, labels, files));
    note(request, `pod ${name} created in namespace ${kube().namespace} (${image})`);
    const handle: PodHandle = { backend: "kubernetes", podName: name, namespace: kube().namespace, mode: "runner", nonce: request.payload.nonce, image };
    return watchPod(request, handle, request.payload.masks, false, undefined, inputs);
  }

  return {
    name: "kubernetes",
    async check() {
      try {
        await checkAccess(kube());
        return { ok: true };
      } catch (err) {
        return { ok: false, hint: messageOf(err) };
      }
    },
    async launch(request) {
      prepareTryFiles(request);
      const sentinel = request.network === "none" ? await networkIsolation() : null;
      const kind = request.payload.operator.kind;
      if (kind === "container" || kind === "kubernetes_pod") {
        const { launchUserPod } = await import("./pod-task.js");
        const waitFor = sentinel ? { address: sentinel.address, ...(await clusterImage(config, null, () => undefined)) } : null;
        return launchUserPod(request, { settings: { ...settings, projectDir: config.projectDir }, owner, client: kube(), createPod, place, watchPod, isolatedFrom: waitFor });
      }
      return launchRunner(request, sentinel);
    },
    async adopt(handle: TryHandle, request) {
      const h = handle as Partial<PodHandle>;
      const name = h.podName ?? podName(request.key);
      let pod: V1Pod;
      try {
        pod = await kube().core.readNamespacedPod({ name, namespace: kube().namespace });
        podWatch().seed(pod);
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw err;
      }
      const mode = h.mode ?? (pod.metadata?.labels?.["airlock/mode"] === "pod" ? "pod" : "runner");
      const nonce = h.nonce ?? pod.metadata?.annotations?.[ANNOTATIONS.nonce] ?? null;
      const image = pod.spec?.containers[0]?.image ?? "";
      const adopted: PodHandle = { backend: "kubernetes", podName: name, namespace: kube().namespace, mode, nonce, image };
      const full = request as Partial<LaunchRequest>;
      const scratchDir = full.scratchDir ?? path.join(request.tryDir, "scratch");
      if (!existsSync(request.tryDir)) mkdirSync(request.tryDir, { recursive: true, mode: 0o700 });
      const files = { ...request, scratchDir };
      if (mode === "runner") {
        // A pod still waiting for its large inputs when the earlier orchestrator died gets them now (unless it had them).
        const inputs = full.payload && !pod.status?.containerStatuses?.[0]?.state?.terminated ? podPayload(full as LaunchRequest, full.environment ? IMAGE_ENVIRONMENT_ROOT : null).inputs : [];
        return watchPod(files, adopted, full.payload?.masks ?? [], true, undefined, inputs);
      }
      const { finishUserPod } = await import("./pod-task.js");
      return watchPod(files, adopted, full.payload?.masks ?? [], true, finishUserPod({ ...files, key: request.key }, pod));
    },
    async close() {
      watch?.stop();
      const sentinels = [...retired, ...(isolation?.sentinel ? [isolation.sentinel] : [])];
      retired.clear();
      await Promise.all(sentinels.map((s) => removeSentinel(kube(), s)));
    },
  };
}
