/**
 * The pod of a runner try: the environment's image, the runner bundle mounted from its ConfigMap, and the payload
 * in a per-try Secret mounted read-only. Nothing a task was granted is in the pod's spec, env or args; the
 * Secret is owned by the pod, so Kubernetes deletes it with the pod.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { V1KeyToPath, V1Pod, V1Secret } from "@kubernetes/client-node";
import type { TaskPayload } from "../../runner/protocol.js";
import type { LaunchRequest } from "../types.js";
import { KubernetesError } from "./errors.js";
import { RUNNER_ROOT, type RunnerBundle } from "./runner-bundle.js";
import { isolationWait } from "./network.js";
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
/** Upstream XComs the orchestrator copies into the pod (through exec) before the runner starts. */
export const POD_INPUTS = `${POD_SCRATCH}/.airlock/inputs`;
/** Written by the orchestrator once every input is in place and verified. */
export const INPUTS_READY = `${POD_INPUTS}/.ready`;
/** How long a task container waits for its inputs before giving up. */
export const INPUTS_WAIT_SECONDS = 300;

/** An upstream XCom too large for the payload Secret: the host file and where it goes in the pod. */
export interface PodInput {
  taskId: string;
  hostPath: string;
  podPath: string;
  size: number;
  sha256: string;
}

/** The relative path of a try's large result in its scratch directory (the runner's convention). */
export function resultRef(tryNumber: number): string {
  return `.airlock/result-${tryNumber}.json`;
}

/**
 * The task container's command: run the runner on the mounted payload; when it left a large result, wait
 * (bounded) until the orchestrator has copied it out, so the file outlives the runner but never holds the pod.
 */
export function runnerCommand(tryNumber: number, waitForInputs = false, runner: string[] = ["node", `${RUNNER_ROOT}/runner.mjs`], isolatedFrom: string | null = null): string[] {
  const result = `${POD_SCRATCH}/${resultRef(tryNumber)}`;
  const mark = `${POD_SCRATCH}/${COLLECTED_MARK}`;
  const polls = COLLECT_WAIT_SECONDS * 5;
  // Large upstream XComs are copied in by the orchestrator once the container runs; the task starts after them.
  const inputs = waitForInputs
    ? [
      `i=0; while [ ! -e ${INPUTS_READY} ] && [ $i -lt ${INPUTS_WAIT_SECONDS * 10} ]; do sleep 0.1; i=$((i+1)); done`,
      `[ -e ${INPUTS_READY} ] || { echo "[airlock] the upstream XComs were not delivered into the pod within ${INPUTS_WAIT_SECONDS} s" >&2; exit 125; }`,
    ]
    : [];
  // network: "none": the task starts only once the enforcer has programmed this pod (see isolationWait).
  const isolation = isolatedFrom ? [isolationWait(isolatedFrom)] : [];
  return ["/bin/sh", "-c", [
    ...isolation,
    ...inputs,
    `${runner.join(" ")} < ${PAYLOAD_ROOT}/payload.json`,
    "code=$?",
    `if [ -e ${result} ]; then i=0; while [ ! -e ${mark} ] && [ $i -lt ${polls} ]; do sleep 0.2; i=$((i+1)); done; fi`,
    "exit $code",
  ].join("\n")];
}

/**
 * The payload as the pod sees it (paths inside the pod), the Secret's files, and the inputs to copy in. Upstream
 * XComs that came by reference (≥ 1 MiB), and the largest inline ones while the payload would not fit a Secret, are
 * not in the Secret: the pod waits for the orchestrator to copy them into its scratch volume.
 */
export function podPayload(request: LaunchRequest, environmentRoot: string | null): { payload: TaskPayload; files: Record<string, string>; items: V1KeyToPath[]; inputs: PodInput[] } {
  const p = request.payload;
  const files: Record<string, string> = {};
  const items: V1KeyToPath[] = [];
  let dagModule: string | null = null;
  if (p.dagModule && existsSync(p.dagModule)) {
    files["dag.mjs"] = readFileSync(p.dagModule, "utf8");
    dagModule = `${PAYLOAD_ROOT}/dag.mjs`;
  }
  // A python task's shipped code (the .py files of its DAG folder) travels in the Secret too, laid out as folders.
  let codeDir: string | null = null;
  if (p.codeDir && existsSync(p.codeDir)) {
    for (const rel of pythonFiles(p.codeDir)) {
      const key = `code__${rel.split("/").join("__")}`;
      files[key] = readFileSync(path.join(p.codeDir, rel), "utf8");
      items.push({ key, path: `code/${rel}` });
    }
    codeDir = `${PAYLOAD_ROOT}/code`;
  }
  const xcom: TaskPayload["inputs"]["xcom"] = {};
  const inputs: PodInput[] = [];
  const byRef = (taskId: string, hostPath: string, size: number, sha256: string) => {
    const podPath = `${POD_INPUTS}/${inputs.length}.json`;
    inputs.push({ taskId, hostPath, podPath, size, sha256 });
    xcom[taskId] = { ref: podPath, size, sha256 };
  };
  for (const [taskId, v] of Object.entries(p.inputs.xcom)) {
    if ("inline" in v) xcom[taskId] = v;
    else byRef(taskId, v.ref, v.size, v.sha256);
  }
  const build = () => {
    const payload: TaskPayload = {
      ...p, dagModule, codeDir, inputs: { ...p.inputs, xcom },
      context: { ...p.context, scratchDir: POD_SCRATCH, environment: request.environment && environmentRoot ? { name: request.environment.name, root: environmentRoot } : null },
    };
    files["payload.json"] = JSON.stringify(payload);
    return { payload, size: Object.values(files).reduce((n, t) => n + Buffer.byteLength(t), 0) };
  };
  let built = build();
  while (built.size > SECRET_LIMIT) {
    const inline = Object.entries(xcom).filter((e): e is [string, { inline: unknown }] => "inline" in e[1]).map(([taskId, v]) => ({ taskId, json: JSON.stringify(v.inline) }));
    const largest = inline.sort((a, b) => b.json.length - a.json.length)[0];
    if (!largest) {
      throw new KubernetesError("invalid_task", `the payload of ${request.key.taskId} (context, grants, DAG module and Python code) is ${Math.round(built.size / 1024)} KiB, more than a Secret holds; move large code into the environment's packages and pass large values through shared storage`);
    }
    const hostPath = path.join(request.tryDir, "inputs", `${largest.taskId.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`);
    mkdirSync(path.dirname(hostPath), { recursive: true, mode: 0o700 });
    writeFileSync(hostPath, largest.json, { mode: 0o600 });
    byRef(largest.taskId, hostPath, Buffer.byteLength(largest.json), createHash("sha256").update(largest.json).digest("hex"));
    built = build();
  }
  items.push(...Object.keys(files).filter((k) => !k.startsWith("code__")).map((key) => ({ key, path: key })));
  return { payload: built.payload, files, items, inputs };
}

/** The .py files under a shipped code folder, as relative paths with "/". */
function pythonFiles(root: string, rel = ""): string[] {
  return readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? pythonFiles(root, p) : e.name.endsWith(".py") ? [p] : [];
  });
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
  /** The task waits for inputs the orchestrator copies in. */
  waitForInputs?: boolean;
  /** The runner's command line (node and the Node runner, or the environment's python and the Python runner). */
  runner?: string[];
  /** network: "none": the sentinel (ip:port) the pod must stop reaching before the task starts. */
  isolatedFrom?: string | null;
  /** How the payload Secret's keys are laid out in the pod (folders of shipped code). */
  payloadItems?: V1KeyToPath[];
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
        { name: "payload", secret: { secretName: i.name, defaultMode: 0o444, ...(i.payloadItems ? { items: i.payloadItems } : {}) } },
        { name: "runner", configMap: { name: i.bundle.name, items: i.bundle.items } },
        { name: "scratch", emptyDir: sized(i.scratchBytes) },
        { name: "tmp", emptyDir: sized(i.scratchBytes) },
      ],
      containers: [{
        name: TASK_CONTAINER,
        image: i.image,
        imagePullPolicy: i.pullPolicy,
        command: runnerCommand(i.tryNumber, i.waitForInputs, i.runner, i.isolatedFrom ?? null),
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
