/**
 * The pod of a runner try: the environment's image, the runner bundle mounted from its ConfigMap, and the payload
 * in a per-try Secret mounted read-only. Nothing a task was granted is in the pod's spec, env or args; the
 * Secret is owned by the pod, so Kubernetes deletes it with the pod.
 */
import { existsSync, readFileSync } from "node:fs";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import type { TaskPayload } from "../../runner/protocol.js";
import type { LaunchRequest } from "../types.js";
import { KubernetesError } from "./errors.js";
import { RUNNER_ROOT, type RunnerBundle } from "./runner-bundle.js";
import { TASK_CONTAINER } from "./spec.js";

/** Where the payload Secret is mounted. */
export const PAYLOAD_ROOT = "/airlock/payload";
/** The task's scratch directory inside the pod (an emptyDir); large results are collected from it. */
export const POD_SCRATCH = "/airlock/scratch";
/** Written into the scratch directory by the orchestrator once it has collected a large result. */
export const COLLECTED_MARK = ".airlock/collected";
/** How long a finished task container waits for its large result to be collected before exiting anyway. */
export const COLLECT_WAIT_SECONDS = 600;
/** A Secret holds at most 1 MiB. */
const SECRET_LIMIT = 1024 * 1024 - 16 * 1024;

/** The relative path of a try's large result in its scratch directory (the runner's convention). */
export function resultRef(tryNumber: number): string {
  return `.airlock/result-${tryNumber}.json`;
}

/**
 * The task container's command: run the runner on the mounted payload; when it left a large result, wait
 * (bounded) until the orchestrator has copied it out, so the file outlives the runner but never holds the pod.
 */
export function runnerCommand(tryNumber: number): string[] {
  const result = `${POD_SCRATCH}/${resultRef(tryNumber)}`;
  const mark = `${POD_SCRATCH}/${COLLECTED_MARK}`;
  const polls = COLLECT_WAIT_SECONDS * 5;
  return ["/bin/sh", "-c", [
    `node ${RUNNER_ROOT}/runner.mjs < ${PAYLOAD_ROOT}/payload.json`,
    "code=$?",
    `if [ -e ${result} ]; then i=0; while [ ! -e ${mark} ] && [ $i -lt ${polls} ]; do sleep 0.2; i=$((i+1)); done; fi`,
    "exit $code",
  ].join("\n")];
}

/** The payload as the pod sees it (paths inside the pod) and the Secret's files. */
export function podPayload(request: LaunchRequest, environmentRoot: string | null): { payload: TaskPayload; files: Record<string, string> } {
  const p = request.payload;
  const files: Record<string, string> = {};
  let dagModule: string | null = null;
  if (p.dagModule && existsSync(p.dagModule)) {
    files["dag.mjs"] = readFileSync(p.dagModule, "utf8");
    dagModule = `${PAYLOAD_ROOT}/dag.mjs`;
  }
  const xcom: TaskPayload["inputs"]["xcom"] = {};
  for (const [taskId, v] of Object.entries(p.inputs.xcom)) {
    if ("inline" in v) {
      xcom[taskId] = v;
      continue;
    }
    throw new KubernetesError("invalid_task", `the XCom of upstream task "${taskId}" is ${Math.round(v.size / 1024 / 1024)} MiB; the kubernetes backend passes upstream XComs only below 1 MiB: pass large data through shared storage (a dataset or a volume) instead`);
  }
  const payload: TaskPayload = {
    ...p, dagModule, inputs: { ...p.inputs, xcom },
    context: { ...p.context, scratchDir: POD_SCRATCH, environment: request.environment && environmentRoot ? { name: request.environment.name, root: environmentRoot } : null },
  };
  files["payload.json"] = JSON.stringify(payload);
  const size = Object.values(files).reduce((n, t) => n + Buffer.byteLength(t), 0);
  if (size > SECRET_LIMIT) {
    throw new KubernetesError("invalid_task", `the payload of ${request.key.taskId} (context, grants, inputs and DAG module) is ${Math.round(size / 1024)} KiB, more than a Secret holds; pass large values through shared storage`);
  }
  return { payload, files };
}

/** The per-try payload Secret; its owner reference to the pod is added once the pod exists. */
export function payloadSecret(name: string, labels: Record<string, string>, files: Record<string, string>): V1Secret {
  return {
    metadata: { name, labels },
    type: "Opaque",
    immutable: true,
    data: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  };
}

/** Everything the runner pod needs besides placement (profiles, template) which the caller applies. */
export interface RunnerPodInput {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  image: string;
  pullPolicy: "Always" | "IfNotPresent" | "Never";
  bundle: RunnerBundle;
  tryNumber: number;
  resources: NonNullable<V1Pod["spec"]>["containers"][number]["resources"];
  serviceAccountName: string | null;
  imagePullSecrets: string[];
  /** Size limit of the scratch and /tmp emptyDirs (resources.scratch); the kubelet evicts a pod over it. */
  scratchBytes?: number;
}

const sized = (bytes: number | undefined) => (bytes ? { sizeLimit: `${Math.ceil(bytes / 1024 ** 2)}Mi` } : {});

/** Builds the pod of a runner try. */
export function runnerPod(i: RunnerPodInput): V1Pod {
  return {
    metadata: { name: i.name, labels: i.labels, annotations: i.annotations },
    spec: {
      restartPolicy: "Never",
      // A task that ignores SIGTERM must not hold its slot: a kill is a delete with a short grace.
      terminationGracePeriodSeconds: 5,
      automountServiceAccountToken: i.serviceAccountName !== null,
      ...(i.serviceAccountName ? { serviceAccountName: i.serviceAccountName } : {}),
      enableServiceLinks: false,
      ...(i.imagePullSecrets.length ? { imagePullSecrets: i.imagePullSecrets.map((name) => ({ name })) } : {}),
      volumes: [
        { name: "payload", secret: { secretName: i.name, defaultMode: 0o444 } },
        { name: "runner", configMap: { name: i.bundle.name, items: i.bundle.items } },
        { name: "scratch", emptyDir: sized(i.scratchBytes) },
        { name: "tmp", emptyDir: sized(i.scratchBytes) },
      ],
      containers: [{
        name: TASK_CONTAINER,
        image: i.image,
        imagePullPolicy: i.pullPolicy,
        command: runnerCommand(i.tryNumber),
        workingDir: POD_SCRATCH,
        env: [{ name: "PATH", value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, { name: "HOME", value: POD_SCRATCH }, { name: "TMPDIR", value: "/tmp" }, { name: "LANG", value: "C.UTF-8" }],
        ...(i.resources && Object.keys(i.resources).length ? { resources: i.resources } : {}),
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        volumeMounts: [
          { name: "payload", mountPath: PAYLOAD_ROOT, readOnly: true },
          { name: "runner", mountPath: RUNNER_ROOT, readOnly: true },
          { name: "scratch", mountPath: POD_SCRATCH },
          { name: "tmp", mountPath: "/tmp" },
        ],
      }],
    },
  };
}
