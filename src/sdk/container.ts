/**
 * The `container` operator: runs any image as a task (Airflow's DockerOperator), on the docker backend.
 * Only the DAG definition lives here (no I/O); the backend runs it and turns its end into the task's result.
 */
import type { Task } from "./dag.js";
import { DagDefinitionError } from "./errors.js";
import { define } from "./operators.js";
import type { TaskOptions } from "./types.js";

/** A file or directory of the Docker host (bind), a named volume, or a tmpfs mounted into the container. */
export interface ContainerMount {
  /** Host path (bind, absolute) or volume name; unused for tmpfs. */
  source?: string;
  /** Absolute path inside the container. */
  target: string;
  /** @default "bind" */
  type?: "bind" | "volume" | "tmpfs";
  /** @default false */
  readOnly?: boolean;
}

/** Options of `container`. */
export interface ContainerOptions extends TaskOptions {
  /** Image reference (templated), e.g. "python:3.12-slim" or "registry:5000/team/tool:1.2". */
  image: string;
  /** Command (templated); a string is split into words like a shell would, without running a shell. */
  command?: string | string[];
  /** Replaces the image's entrypoint (templated). */
  entrypoint?: string | string[];
  /** Environment variables (templated). Visible in `docker inspect`: never put secrets here. */
  env?: Record<string, string>;
  /**
   * Secret environment variables (templated, masked in logs). Each value must be a template such as
   * `{{ conn.db.password }}` or `{{ var.value.token }}`, so the secret is read at run time and never stored with
   * the DAG. They reach the process through a read-only mounted file, never the container's spec; this needs
   * `/bin/sh` in the image.
   */
  privateEnv?: Record<string, string>;
  /** Host paths, volumes or tmpfs to mount. */
  mounts?: ContainerMount[];
  /** Working directory inside the container (templated). @default the image's */
  workingDir?: string;
  /** User (name or uid[:gid]) the process runs as. @default the image's */
  user?: string;
  /** CPU limit in cores; overrides resources.cpu. */
  cpus?: number;
  /** Memory limit such as "512Mi"; overrides resources.memory. */
  memory?: string | number;
  /** Size of /dev/shm such as "256Mi". @default the engine's (64Mi) */
  shmSize?: string | number;
  /** When to pull the image. @default "missing" */
  pull?: "always" | "missing" | "never";
  /** Removing the container when it ends: always ("force"), only after success, or never. @default "force" */
  autoRemove?: "never" | "success" | "force";
  /**
   * Push an XCom: the JSON in `/airlock/xcom/return.json` when the container wrote it, else the last line of
   * stdout. @default true
   */
  xcom?: boolean;
}

const CONTAINER_KEYS = [
  "image", "command", "entrypoint", "env", "privateEnv", "mounts", "workingDir", "user", "cpus", "memory",
  "shmSize", "pull", "autoRemove", "xcom",
] as const;
const SIZE = /^\d+(\.\d+)?(Ki|Mi|Gi|K|M|G|k|m|g|b)?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fail(where: string, field: string, message: string): never {
  throw new DagDefinitionError(`${where}: ${field} ${message}`, field);
}

function checkWords(where: string, field: string, value: unknown): void {
  if (value === undefined) return;
  const ok = typeof value === "string" ? value.trim() !== "" : Array.isArray(value) && value.length > 0 && value.every((w) => typeof w === "string");
  if (!ok) fail(where, field, "must be a non-empty string or an array of strings");
}

function checkEnv(where: string, field: string, value: unknown, secret: boolean): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(where, field, "must be an object of NAME: value strings");
  for (const [name, v] of Object.entries(value)) {
    if (!ENV_NAME.test(name)) fail(where, `${field}.${name}`, "is not a valid variable name; use letters, digits and _");
    if (typeof v !== "string") fail(where, `${field}.${name}`, "must be a string");
    if (secret && !/\{\{[^}]*\b(conn|var)\.[^}]*\}\}/.test(v)) {
      fail(where, `${field}.${name}`, 'must be a template such as "{{ conn.db.password }}" or "{{ var.value.token }}": a literal secret would be stored with the DAG');
    }
  }
}

function checkMounts(where: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) fail(where, "mounts", "must be an array of { source, target, type?, readOnly? }");
  value.forEach((m: unknown, i) => {
    const f = `mounts[${i}]`;
    if (typeof m !== "object" || m === null) fail(where, f, "must be an object { source, target }");
    const mount = m as Record<string, unknown>;
    for (const key of Object.keys(mount)) if (!["source", "target", "type", "readOnly"].includes(key)) fail(where, `${f}.${key}`, "is unknown; use source, target, type or readOnly");
    const type = mount.type ?? "bind";
    if (type !== "bind" && type !== "volume" && type !== "tmpfs") fail(where, `${f}.type`, 'must be "bind", "volume" or "tmpfs"');
    if (typeof mount.target !== "string" || !mount.target.startsWith("/")) fail(where, `${f}.target`, "must be an absolute path inside the container");
    if (type === "bind" && (typeof mount.source !== "string" || !mount.source.startsWith("/"))) fail(where, `${f}.source`, "must be an absolute host path for a bind mount");
    if (type === "volume" && (typeof mount.source !== "string" || mount.source === "")) fail(where, `${f}.source`, "must name the volume");
    if (mount.readOnly !== undefined && typeof mount.readOnly !== "boolean") fail(where, `${f}.readOnly`, "must be true or false");
  });
}

function checkSize(where: string, field: string, value: unknown): void {
  if (value === undefined) return;
  const ok = typeof value === "number" ? value > 0 : typeof value === "string" && SIZE.test(value);
  if (!ok) fail(where, field, `"${String(value)}" is not a size; write "256Mi" or "1Gi"`);
}

/** Runs an image as a task: Airflow's DockerOperator, without secrets in the spec or orphaned containers. */
export function container(options: ContainerOptions): Task {
  const o = options as unknown as Record<string, unknown>;
  const where = `container("${String(o?.id)}")`;
  if (typeof o !== "object" || o === null) throw new DagDefinitionError("container(): expected an options object with an id and an image", "options");
  if (typeof o.image !== "string" || o.image.trim() === "") fail(where, "image", 'is required: an image reference such as "debian:bookworm-slim"');
  checkWords(where, "command", o.command);
  checkWords(where, "entrypoint", o.entrypoint);
  checkEnv(where, "env", o.env, false);
  checkEnv(where, "privateEnv", o.privateEnv, true);
  checkMounts(where, o.mounts);
  for (const key of ["workingDir", "user"] as const) {
    if (o[key] !== undefined && (typeof o[key] !== "string" || o[key] === "")) fail(where, key, "must be a non-empty string");
  }
  if (o.cpus !== undefined && !(typeof o.cpus === "number" && o.cpus > 0)) fail(where, "cpus", "must be a number of cores > 0");
  checkSize(where, "memory", o.memory);
  checkSize(where, "shmSize", o.shmSize);
  if (o.pull !== undefined && !["always", "missing", "never"].includes(o.pull as string)) fail(where, "pull", 'must be "always", "missing" or "never"');
  if (o.autoRemove !== undefined && !["never", "success", "force"].includes(o.autoRemove as string)) fail(where, "autoRemove", 'must be "never", "success" or "force"');
  if (o.xcom !== undefined && typeof o.xcom !== "boolean") fail(where, "xcom", "must be true or false");
  const task = define("container", "container", o, CONTAINER_KEYS, ["image", "command", "entrypoint", "env", "privateEnv", "workingDir"]);
  // A container task runs only on a container backend: unless the task names one itself, it is docker, whatever
  // the DAG's or the project's default backend is.
  if (o.backend === undefined) task.options.backend = "docker";
  else if (o.backend !== "docker" && o.backend !== "kubernetes") fail(where, "backend", 'must be "docker" (or "kubernetes"): a container task needs a container backend');
  return task;
}
