/**
 * The `kubernetesPod` operator: runs any image as a pod (Airflow's KubernetesPodOperator) on the kubernetes
 * backend. Only the DAG definition lives here (no I/O); the backend builds the pod and turns its end into the
 * task's result. Secrets never enter the pod's spec: `secretEnv` and `secretFiles` become a per-try Secret
 * owned by the pod, or refer to a Secret that already exists in the namespace.
 */
import type { Task } from "./dag.js";
import { parseDuration, type Duration } from "./duration.js";
import { DagDefinitionError } from "./errors.js";
import { define } from "./operators.js";
import type { TaskOptions } from "./types.js";

/** A key of a Kubernetes Secret that already exists in the namespace. */
export interface SecretKeyRef {
  secretName: string;
  key: string;
}

/** Files from secrets mounted read-only at `mountPath`: values are templates (per-try Secret) or existing Secret keys. */
export interface SecretFiles {
  mountPath: string;
  files: Record<string, string | SecretKeyRef>;
}

/** Options of `kubernetesPod`. Kubernetes objects (volumes, affinity, securityContext) are written as in a pod manifest. */
export interface KubernetesPodOptions extends TaskOptions {
  /** Image reference (templated). */
  image: string;
  /** Replaces the image's entrypoint (templated). @default the image's */
  command?: string[];
  /** Arguments (templated). @default the image's */
  args?: string[];
  /** Environment variables (templated). They are in the pod spec: never put secrets here. */
  env?: Record<string, string>;
  /**
   * Secret environment variables: a template naming a connection or variable (`{{ conn.db.password }}`), which
   * becomes a per-try Secret, or `{ secretName, key }` of an existing Kubernetes Secret (a `secretKeyRef`).
   */
  secretEnv?: Record<string, string | SecretKeyRef>;
  /** Secret files, mounted read-only. */
  secretFiles?: SecretFiles[];
  /** ConfigMaps whose keys become environment variables (`envFrom`). */
  configMaps?: string[];
  /** Pod volumes, as in a manifest. */
  volumes?: Record<string, unknown>[];
  /** Mounts of the task container, as in a manifest. */
  volumeMounts?: Record<string, unknown>[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  affinity?: Record<string, unknown>;
  tolerations?: Record<string, unknown>[];
  /** Requests of the task container, e.g. { cpu: "500m", memory: "256Mi" }; `resources.memory/cpu` win. */
  requests?: { cpu?: string; memory?: string };
  /** Limits of the task container; `resources.memory/cpu` win. */
  limits?: { cpu?: string; memory?: string };
  priorityClassName?: string;
  /** Service account; its token is mounted only when one is named. @default kubernetes.serviceAccountName */
  serviceAccountName?: string;
  /** Security context of the task container, as in a manifest. */
  securityContext?: Record<string, unknown>;
  /** @default "IfNotPresent" */
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  /** Secrets used to pull the image (added to kubernetes.imagePullSecrets). */
  imagePullSecrets?: string[];
  /** A pod file (YAML or JSON, relative to the project) merged under this task's pod, over kubernetes.podTemplate. */
  podTemplateFile?: string;
  /** Longest time to Running. @default kubernetes.startupTimeout */
  startupTimeout?: Duration;
  /** Exit codes that mark the task skipped instead of failed. */
  skipOnExitCode?: number | number[];
  /**
   * Push an XCom: the JSON the container wrote to `/airlock/xcom/return.json` (read by the kubelet as the
   * container's termination message, at most 4 KiB), else the last line of stdout. @default true
   */
  xcom?: boolean;
}

const KEYS = [
  "image", "command", "args", "env", "secretEnv", "secretFiles", "configMaps", "volumes", "volumeMounts", "labels",
  "annotations", "nodeSelector", "affinity", "tolerations", "requests", "limits", "priorityClassName",
  "serviceAccountName", "securityContext", "imagePullPolicy", "imagePullSecrets", "podTemplateFile", "startupTimeout",
  "skipOnExitCode", "xcom",
] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FILE_NAME = /^[A-Za-z0-9._-]+$/;

function fail(where: string, field: string, message: string): never {
  throw new DagDefinitionError(`${where}: ${field} ${message}`, field);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function checkSecretValue(where: string, field: string, v: unknown): void {
  if (typeof v === "string") {
    if (!/\{\{[^}]*\b(conn|var)\.[^}]*\}\}/.test(v)) fail(where, field, 'must be a template such as "{{ conn.db.password }}", or { secretName, key } of an existing Secret: a literal secret would be stored with the DAG');
  } else if (!isObject(v) || typeof v.secretName !== "string" || !v.secretName || typeof v.key !== "string" || !v.key) {
    fail(where, field, "must be a template string or { secretName, key }");
  }
}

function checkStringMap(where: string, field: string, v: unknown): void {
  if (v === undefined) return;
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === "string")) fail(where, field, "must be an object of string values");
}

function checkStrings(where: string, field: string, v: unknown): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) fail(where, field, "must be an array of strings");
}

function checkObjects(where: string, field: string, v: unknown, array: boolean): void {
  if (v === undefined) return;
  if (array ? !(Array.isArray(v) && v.every(isObject)) : !isObject(v)) fail(where, field, array ? "must be an array of objects as in a pod manifest" : "must be an object as in a pod manifest");
}

/** Runs an image as a pod: Airflow's KubernetesPodOperator, without secrets in the spec or hanging sidecars. */
export function kubernetesPod(options: KubernetesPodOptions): Task {
  const o = options as unknown as Record<string, unknown>;
  if (!isObject(o)) throw new DagDefinitionError("kubernetesPod(): expected an options object with an id and an image", "options");
  const where = `kubernetesPod("${String(o.id)}")`;
  if (typeof o.image !== "string" || o.image.trim() === "") fail(where, "image", 'is required: an image reference such as "debian:bookworm-slim"');
  checkStrings(where, "command", o.command);
  checkStrings(where, "args", o.args);
  checkStringMap(where, "env", o.env);
  for (const name of Object.keys(isObject(o.env) ? o.env : {})) if (!ENV_NAME.test(name)) fail(where, `env.${name}`, "is not a valid variable name");
  if (o.secretEnv !== undefined) {
    if (!isObject(o.secretEnv)) fail(where, "secretEnv", "must be an object of NAME: template or { secretName, key }");
    for (const [name, v] of Object.entries(o.secretEnv)) {
      if (!ENV_NAME.test(name)) fail(where, `secretEnv.${name}`, "is not a valid variable name");
      checkSecretValue(where, `secretEnv.${name}`, v);
    }
  }
  if (o.secretFiles !== undefined) {
    if (!Array.isArray(o.secretFiles)) fail(where, "secretFiles", "must be an array of { mountPath, files }");
    o.secretFiles.forEach((f: unknown, i) => {
      if (!isObject(f) || typeof f.mountPath !== "string" || !f.mountPath.startsWith("/") || !isObject(f.files)) fail(where, `secretFiles[${i}]`, "must be { mountPath: absolute path, files: { name: template or { secretName, key } } }");
      for (const [name, v] of Object.entries(f.files)) {
        if (!FILE_NAME.test(name)) fail(where, `secretFiles[${i}].files.${name}`, "is not a file name (letters, digits, '.', '_', '-')");
        checkSecretValue(where, `secretFiles[${i}].files.${name}`, v);
      }
    });
  }
  checkStrings(where, "configMaps", o.configMaps);
  checkStrings(where, "imagePullSecrets", o.imagePullSecrets);
  checkObjects(where, "volumes", o.volumes, true);
  checkObjects(where, "volumeMounts", o.volumeMounts, true);
  checkObjects(where, "tolerations", o.tolerations, true);
  checkObjects(where, "affinity", o.affinity, false);
  checkObjects(where, "securityContext", o.securityContext, false);
  for (const key of ["labels", "annotations", "nodeSelector", "requests", "limits"] as const) checkStringMap(where, key, o[key]);
  for (const key of ["priorityClassName", "serviceAccountName", "podTemplateFile"] as const) {
    if (o[key] !== undefined && (typeof o[key] !== "string" || o[key] === "")) fail(where, key, "must be a non-empty string");
  }
  if (o.imagePullPolicy !== undefined && !["Always", "IfNotPresent", "Never"].includes(o.imagePullPolicy as string)) fail(where, "imagePullPolicy", 'must be "Always", "IfNotPresent" or "Never"');
  if (o.startupTimeout !== undefined) parseDuration(o.startupTimeout as Duration, `${where}: startupTimeout`);
  if (o.skipOnExitCode !== undefined && !([] as unknown[]).concat(o.skipOnExitCode).every((c) => Number.isInteger(c))) fail(where, "skipOnExitCode", "must be an exit code or an array of them");
  if (o.xcom !== undefined && typeof o.xcom !== "boolean") fail(where, "xcom", "must be true or false");
  if (o.backend !== undefined && o.backend !== "kubernetes") fail(where, "backend", 'must be "kubernetes" (or left out): a pod needs a cluster');
  const task = define("kubernetes_pod", "kubernetesPod", o, KEYS, ["image", "command", "args", "env", "secretEnv", "secretFiles"]);
  task.options.backend = "kubernetes";
  return task;
}
