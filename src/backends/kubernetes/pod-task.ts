/**
 * User-image pods: the `kubernetesPod` operator, and the `container` operator when it runs on kubernetes. No
 * runner: the orchestrator builds the pod from the rendered options, keeps secrets in a per-try Secret owned by
 * the pod (or refers to existing Secrets), and turns the container's end into the try's result or error. The
 * XCom is the container's termination message (the kubelet reads /airlock/xcom/return.json after the container
 * exits, so no sidecar waits for it), else the last stdout line.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { V1EnvVar, V1Pod, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { AirlockConfig } from "../../config/config.js";
import { INLINE_RESULT_LIMIT, type TaskEvent, type XComValue } from "../../runner/protocol.js";
import type { KubernetesPodOptions, SecretKeyRef } from "../../sdk/kubernetes-pod.js";
import type { ContainerArgs } from "../docker/container-task.js";
import { splitWords } from "../docker/container-task.js";
import { SecretInSpecError, planSecretArgv } from "../secret-argv.js";
import type { LaunchRequest, RunningTry } from "../types.js";
import type { KubeClient } from "./client.js";
import { KubernetesError } from "./errors.js";
import type { OnPodEnded, PodHandle } from "./lifecycle.js";
import { isolationWaitContainer } from "./network.js";
import { payloadSecret } from "./runner-pod.js";
import { TASK_CONTAINER, containerResources, podName, tryAnnotations, tryLabels } from "./spec.js";
import { mergePodTemplate, readPodTemplate } from "./template.js";

/** Where a user's container writes its XCom; the kubelet reads it as the termination message. */
export const XCOM_FILE = "/airlock/xcom/return.json";
/** The kubelet keeps at most this much of a termination message. */
const TERMINATION_MESSAGE_LIMIT = 4096;

type PodArgs = Omit<KubernetesPodOptions, "id" | keyof import("../../sdk/types.js").TaskOptions>;

/** What the backend lends a user-pod launch. */
export interface UserPodDeps {
  settings: AirlockConfig["kubernetes"] & { projectDir?: string };
  owner: string;
  client: KubeClient;
  createPod(pod: V1Pod, secret: ReturnType<typeof payloadSecret> | null): Promise<V1Pod>;
  place(pod: V1Pod, request: LaunchRequest): V1Pod;
  watchPod(request: LaunchRequest, handle: PodHandle, masks: string[], adopted: boolean, onEnded?: OnPodEnded): Promise<RunningTry>;
  /** network: "none": the sentinel the pod's init container waits to lose, and the image that waits. */
  isolatedFrom?: { address: string; image: string; pullPolicy: string } | null;
}

const isRef = (v: unknown): v is SecretKeyRef => typeof v === "object" && v !== null && "secretName" in v;

/** The container operator's options as kubernetesPod options (host mounts have no meaning on a cluster). */
function fromContainer(a: ContainerArgs): PodArgs {
  if (a.mounts?.length) throw new KubernetesError("invalid_task", "container task: mounts are host paths of a Docker engine and cannot be used on kubernetes; use kubernetesPod with volumes, or run it on docker");
  const words = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : splitWords(v));
  const entry = words(a.entrypoint);
  const cmd = words(a.command);
  const uid = a.user !== undefined && /^\d+(:\d+)?$/.test(a.user) ? a.user.split(":").map(Number) : null;
  if (a.user !== undefined && !uid) throw new KubernetesError("invalid_task", `container task: user "${a.user}" must be numeric (uid or uid:gid) on kubernetes`);
  const memory = a.memory === undefined ? undefined : String(a.memory);
  return {
    image: a.image,
    ...(entry ? { command: entry, ...(cmd ? { args: cmd } : {}) } : cmd ? { args: cmd } : {}),
    ...(a.env ? { env: a.env } : {}),
    ...(a.privateEnv ? { secretEnv: a.privateEnv } : {}),
    ...(uid ? { securityContext: { runAsUser: uid[0], ...(uid[1] !== undefined ? { runAsGroup: uid[1] } : {}) } } : {}),
    ...(memory || a.cpus ? { limits: { ...(memory ? { memory } : {}), ...(a.cpus ? { cpu: String(a.cpus) } : {}) } } : {}),
    imagePullPolicy: a.pull === "always" ? "Always" : a.pull === "never" ? "Never" : "IfNotPresent",
    ...(a.xcom !== undefined ? { xcom: a.xcom } : {}),
  };
}

const COMMAND_DIR = "/airlock/command";

/** A rendered secret in command/args is rerouted through the try's Secret, or refused (see secret-argv.ts). */
function secretCommand(request: LaunchRequest, a: PodArgs) {
  const fields = { command: "command", env: "env", secretEnv: "secretEnv" };
  try {
    // With no command the image's entrypoint runs the args, and a script form cannot be recognised.
    const words = a.command ? [...a.command, ...(a.args ?? [])] : ["(the image's entrypoint)", ...(a.args ?? [])];
    return planSecretArgv({ words, env: a.env ?? {}, secrets: request.payload.masks, fields: a.command ? fields : { ...fields, command: "args" } });
  } catch (err) {
    if (err instanceof SecretInSpecError) throw new KubernetesError("invalid_task", `task "${request.key.taskId}": ${err.message}`, { cause: err });
    throw err;
  }
}

/** Builds the pod and the per-try Secret (when any secret value is a template) of a user-image try. */
export function userPod(request: LaunchRequest, a: PodArgs, deps: Pick<UserPodDeps, "settings" | "owner">): { pod: V1Pod; secretFiles: Record<string, string> } {
  const name = podName(request.key);
  const secret: Record<string, string> = {};
  const env: V1EnvVar[] = Object.entries(a.env ?? {}).map(([k, v]) => ({ name: k, value: String(v) }));
  for (const [k, v] of Object.entries(a.secretEnv ?? {})) {
    if (isRef(v)) env.push({ name: k, valueFrom: { secretKeyRef: { name: v.secretName, key: v.key } } });
    else {
      secret[`env.${k}`] = v;
      env.push({ name: k, valueFrom: { secretKeyRef: { name, key: `env.${k}` } } });
    }
  }
  const volumes: V1Volume[] = [{ name: "airlock-xcom", emptyDir: {} }, ...((a.volumes ?? []) as unknown as V1Volume[])];
  const mounts: V1VolumeMount[] = [{ name: "airlock-xcom", mountPath: path.posix.dirname(XCOM_FILE) }, ...((a.volumeMounts ?? []) as unknown as V1VolumeMount[])];
  let { command, args } = a;
  const reroute = secretCommand(request, a);
  if (reroute) {
    // The script a shell would get with -c travels in the try's Secret: the pod spec names only the file.
    secret["command"] = reroute.script;
    volumes.push({ name: "airlock-command", projected: { sources: [{ secret: { name, items: [{ key: "command", path: "script" }] } }], defaultMode: 0o444 } });
    mounts.push({ name: "airlock-command", mountPath: COMMAND_DIR, readOnly: true });
    command = [reroute.shell, `${COMMAND_DIR}/script`, ...reroute.params];
    args = undefined;
  }
  (a.secretFiles ?? []).forEach((f, i) => {
    const vol = `airlock-secret-files-${i}`;
    const ours = Object.entries(f.files).filter(([, v]) => !isRef(v));
    const theirs = Object.entries(f.files).filter(([, v]) => isRef(v)) as [string, SecretKeyRef][];
    const sources = [
      ...(ours.length ? [{ secret: { name, items: ours.map(([file]) => ({ key: `file.${i}.${file}`, path: file })) } }] : []),
      ...theirs.map(([file, ref]) => ({ secret: { name: ref.secretName, items: [{ key: ref.key, path: file }] } })),
    ];
    for (const [file, v] of ours) secret[`file.${i}.${file}`] = v as string;
    volumes.push({ name: vol, projected: { sources, defaultMode: 0o444 } });
    mounts.push({ name: vol, mountPath: f.mountPath, readOnly: true });
  });
  const resources = containerResources({ ...(a.requests ? { requests: a.requests } : {}), ...(a.limits ? { limits: a.limits } : {}) }, request.resources);
  const serviceAccountName = a.serviceAccountName ?? deps.settings.serviceAccountName;
  const pullSecrets = [...deps.settings.imagePullSecrets, ...(a.imagePullSecrets ?? [])];
  let pod: V1Pod = {
    metadata: { name, labels: { ...(a.labels ?? {}), ...tryLabels(request.key, "pod", deps.owner) }, annotations: { ...(a.annotations ?? {}), ...tryAnnotations(request.key, null) } },
    spec: {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 5,
      automountServiceAccountToken: Boolean(serviceAccountName),
      ...(serviceAccountName ? { serviceAccountName } : {}),
      enableServiceLinks: false,
      ...(pullSecrets.length ? { imagePullSecrets: pullSecrets.map((n) => ({ name: n })) } : {}),
      ...(a.nodeSelector ? { nodeSelector: a.nodeSelector } : {}),
      ...(a.affinity ? { affinity: a.affinity as NonNullable<V1Pod["spec"]>["affinity"] } : {}),
      ...(a.tolerations ? { tolerations: a.tolerations as NonNullable<V1Pod["spec"]>["tolerations"] } : {}),
      ...(a.priorityClassName ? { priorityClassName: a.priorityClassName } : {}),
      volumes,
      containers: [{
        name: TASK_CONTAINER,
        image: a.image,
        imagePullPolicy: a.imagePullPolicy ?? "IfNotPresent",
        ...(command ? { command } : {}),
        ...(args ? { args } : {}),
        env,
        ...(a.configMaps?.length ? { envFrom: a.configMaps.map((n) => ({ configMapRef: { name: n } })) } : {}),
        ...(Object.keys(resources).length ? { resources } : {}),
        ...(a.securityContext ? { securityContext: a.securityContext as NonNullable<V1Pod["spec"]>["containers"][number]["securityContext"] } : {}),
        volumeMounts: mounts,
        terminationMessagePath: XCOM_FILE,
        terminationMessagePolicy: "File",
      }],
    },
  };
  if (a.podTemplateFile) pod = mergePodTemplate(readPodTemplate(path.resolve(deps.settings.projectDir ?? ".", a.podTemplateFile)), pod);
  return { pod, secretFiles: secret };
}

function encode(json: string, request: Pick<LaunchRequest, "scratchDir" | "key">): XComValue {
  if (Buffer.byteLength(json) < INLINE_RESULT_LIMIT) return { inline: JSON.parse(json) as unknown };
  const rel = path.join(".airlock", `result-${request.key.tryNumber}.json`);
  mkdirSync(path.join(request.scratchDir, ".airlock"), { recursive: true });
  writeFileSync(path.join(request.scratchDir, rel), json);
  return { ref: rel, size: Buffer.byteLength(json), sha256: createHash("sha256").update(json).digest("hex") };
}

/** Turns a user pod's end into its result or error event. */
export function finishUserPod(request: Pick<LaunchRequest, "scratchDir" | "key">, spec: V1Pod): OnPodEnded {
  const annotations = spec.metadata?.annotations ?? {};
  const xcom = annotations["airlock/xcom"] !== "false";
  const skipOn = (annotations["airlock/skip-on-exit-code"] ?? "").split(",").filter(Boolean).map(Number);
  return async (exit, pod, demux) => {
    if (demux.lastSeq >= 1) return;
    const seq = demux.lastSeq + 1;
    let event: TaskEvent;
    const terminated = pod?.status?.containerStatuses?.find((c) => c.name === TASK_CONTAINER)?.state?.terminated;
    if (exit.code !== null && skipOn.includes(exit.code)) {
      event = { seq, type: "result", value: { inline: null }, skipped: true };
    } else if (exit.code === 0 && !exit.oomKilled) {
      let value: XComValue = { inline: null };
      if (xcom) {
        const message = terminated?.message;
        if (message) {
          if (Buffer.byteLength(message) >= TERMINATION_MESSAGE_LIMIT) {
            throw new KubernetesError("result_fetch_failed", `${XCOM_FILE} is ${TERMINATION_MESSAGE_LIMIT} bytes or more, over what the kubelet keeps of it; write large results to shared storage and return a reference`);
          }
          try {
            value = encode(JSON.stringify(JSON.parse(message)), request);
          } catch {
            throw new KubernetesError("result_fetch_failed", `${XCOM_FILE} is not valid JSON; write JSON there, or print the XCom as the last stdout line`);
          }
        } else value = encode(JSON.stringify(demux.lastStdoutLine), request);
      }
      event = { seq, type: "result", value };
    } else {
      const tail = demux.tail.slice(-20).join("\n");
      const message = `pod container exited with code ${exit.code ?? "unknown"}${exit.oomKilled ? ` (${exit.detail ?? "OOMKilled"})` : ""}${tail ? `; last log lines:\n${tail}` : ""}`;
      event = { seq, type: "error", error: { type: "ContainerExited", message } };
    }
    demux.writeEvent(JSON.stringify(event), seq);
    // An exit code the task declared as "skip" is not a failure of the try.
    if (event.type === "result" && event.skipped) return { ...exit, code: 0, detail: `exit code ${exit.code} is in skipOnExitCode` };
  };
}

/** Launches a kubernetesPod (or container-on-kubernetes) try. */
export async function launchUserPod(request: LaunchRequest, deps: UserPodDeps): Promise<RunningTry> {
  const raw = request.payload.operator.args as Record<string, unknown>;
  const args = request.payload.operator.kind === "container" ? fromContainer(raw as unknown as ContainerArgs) : (raw as unknown as PodArgs);
  if (typeof args.image !== "string" || !args.image) throw new KubernetesError("invalid_task", `task "${request.key.taskId}": image is missing after rendering; check its template`);
  const { pod, secretFiles } = userPod(request, args, deps);
  // Settings the end of the try needs, kept on the pod so an adopted try ends the same way.
  pod.metadata!.annotations = {
    ...pod.metadata!.annotations,
    "airlock/xcom": String(args.xcom ?? true),
    ...(args.skipOnExitCode !== undefined ? { "airlock/skip-on-exit-code": ([] as number[]).concat(args.skipOnExitCode).join(",") } : {}),
  };
  const placed = deps.place(pod, request);
  // The user's image may have no shell: an init container (Airlock's runtime image) holds the task until the
  // cluster's enforcer has programmed the pod. Init containers share the pod's network.
  if (deps.isolatedFrom) {
    const w = deps.isolatedFrom;
    placed.spec!.initContainers = [isolationWaitContainer(w.address, w.image, w.pullPolicy), ...(placed.spec!.initContainers ?? [])];
  }
  const name = placed.metadata?.name as string;
  const hasSecret = Object.keys(secretFiles).length > 0;
  await deps.createPod(placed, hasSecret ? payloadSecret(name, tryLabels(request.key, "pod", deps.owner), secretFiles) : null);
  const handle: PodHandle = { backend: "kubernetes", podName: name, namespace: deps.client.namespace, mode: "pod", nonce: null, image: args.image };
  // The rerouted command script is not a secret itself (its secrets are among the payload's masks already).
  const masks = [...request.payload.masks, ...Object.entries(secretFiles).filter(([k]) => k !== "command").map(([, v]) => v)];
  return deps.watchPod(request, handle, masks, false, finishUserPod(request, placed));
}
