/**
 * Container create options for a try. Only names, limits and mounts go into the spec: the payload and every
 * secret travel on stdin or through a mounted file, so `docker inspect` shows nothing a task was granted.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type Docker from "dockerode";
import type { Resources } from "../../sdk/types.js";
import { DEFAULT_PIDS_LIMIT, tryIdentity, type LaunchRequest, type TryKey } from "../types.js";

/** Labels every airlock container carries (identity only, never data or secrets). */
export const LABELS = { owner: "airlock.owner", dag: "airlock.dag", task: "airlock.task", run: "airlock.run", try: "airlock.try", mapIndex: "airlock.mapIndex", key: "airlock.key", mode: "airlock.mode", autoRemove: "airlock.autoRemove" } as const;
/** Where the orchestrator's built `dist/` folder is mounted (read-only) inside runner containers. */
export const CONTAINER_AIRLOCK_ROOT = "/opt/airlock";

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1e3, m: 1e6, g: 1e9, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3, kb: 1e3, mb: 1e6, gb: 1e9,
};

/** "256Mi", "1g" or a byte count as bytes; undefined when not a size. */
export function parseSize(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return value > 0 ? Math.floor(value) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? SIZE_UNITS[(m[2] ?? "").toLowerCase()] : undefined;
  return m && unit ? Math.floor(Number(m[1]) * unit) : undefined;
}

/** A container name that is the same for the same try, so a second launch of one try cannot create another. */
export function containerName(key: TryKey): string {
  const clean = (s: string) => s.replace(/[^a-zA-Z0-9_.-]/g, "-").slice(0, 40);
  const hash = createHash("sha256").update(JSON.stringify(tryIdentity(key))).digest("hex").slice(0, 12);
  const mapped = (key.mapIndex ?? -1) >= 0 ? `-${key.mapIndex}` : "";
  return `airlock-${clean(key.dagId)}-${clean(key.taskId)}${mapped}-${key.tryNumber}-${hash}`;
}

/** Which installation (state folder) a container belongs to, so one never reaps another's containers. */
export function ownerOf(config: { stateDir: string }): string {
  return createHash("sha256").update(path.resolve(config.stateDir)).digest("hex").slice(0, 16);
}

/** The identity labels of a try's container. */
export function tryLabels(request: Pick<LaunchRequest, "key" | "environment">, mode: "runner" | "container", owner: string): Record<string, string> {
  return {
    [LABELS.owner]: owner,
    [LABELS.dag]: request.key.dagId,
    [LABELS.task]: request.key.taskId,
    [LABELS.run]: request.key.runId,
    [LABELS.try]: String(request.key.tryNumber),
    [LABELS.mapIndex]: String(request.key.mapIndex ?? -1),
    [LABELS.key]: request.environment?.key ?? "",
    [LABELS.mode]: mode,
  };
}

/**
 * Memory, CPU and pids limits; swap is capped at the memory limit so exceeding it is an OOM kill, not swapping.
 * A try that sets no pids limit gets the same default as in the sandbox.
 */
export function limits(resources: Resources | null, override: { memory?: string | number; cpus?: number } = {}): Docker.HostConfig {
  const memory = parseSize(override.memory ?? resources?.memory);
  const cpus = override.cpus ?? resources?.cpu;
  return {
    ...(memory ? { Memory: memory, MemorySwap: memory } : {}),
    ...(cpus ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
    PidsLimit: resources?.pids ?? DEFAULT_PIDS_LIMIT,
  };
}

/** Read-only bind mounts at the same paths as on the host, so paths in the payload stay valid; nested ones dropped. */
export function sameMounts(paths: string[], readOnly: boolean): Docker.MountConfig {
  const unique = [...new Set(paths.map((p) => path.resolve(p)))].sort();
  const kept = unique.filter((p, i) => !unique.slice(0, i).some((q) => p.startsWith(`${q}/`)));
  return kept.map((p) => ({ Type: "bind" as const, Source: p, Target: p, ReadOnly: readOnly }));
}

/** Options common to every try container: stdin attached once, no TTY (stdout and stderr stay apart). */
export const STDIO: Partial<Docker.ContainerCreateOptions> = {
  AttachStdin: true, AttachStdout: true, AttachStderr: true, OpenStdin: true, StdinOnce: true, Tty: false,
};
