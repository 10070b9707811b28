/** Resource limits: parsing memory sizes and merging a task's limits over its environment's defaults. */
import type { Resources } from "../sdk/types.js";

const UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1e12, ti: 1024 ** 4, tib: 1024 ** 4,
};

/** Scratch disk of a try that sets none: enough for ordinary work, bounded so one task cannot fill the host. */
export const DEFAULT_SCRATCH_BYTES = 1024 ** 3;

/** The scratch-disk limit of a try in bytes (resources.scratch, else the default). */
export function scratchBytes(r: Resources | null | undefined): number {
  return (r?.scratch !== undefined ? parseMemory(r.scratch) : undefined) ?? DEFAULT_SCRATCH_BYTES;
}

/** Parses "256Mi", "1Gi", "512M" or a byte count into bytes; undefined when the value is not a size. */
export function parseMemory(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value > 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const unit = UNITS[(m[2] ?? "").toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * unit);
  return bytes > 0 ? bytes : undefined;
}

/** Why a resources object is invalid (field and fix), or null when it is valid. */
export function checkResources(r: Resources): { field: string; message: string } | null {
  if (r.memory !== undefined && parseMemory(r.memory) === undefined) {
    return { field: "memory", message: `"${String(r.memory)}" is not a size; use e.g. "256Mi", "1Gi" or a byte count` };
  }
  if (r.memory !== undefined && (parseMemory(r.memory) ?? 0) < 8 * 1024 * 1024) {
    return { field: "memory", message: `${String(r.memory)} is below the 8Mi a Node process needs to start` };
  }
  if (r.scratch !== undefined && (parseMemory(r.scratch) ?? 0) < 1024 ** 2) {
    return { field: "scratch", message: `"${String(r.scratch)}" is not a disk size of at least 1Mi; use e.g. "512Mi" or "4Gi"` };
  }
  if (r.cpu !== undefined && !(typeof r.cpu === "number" && r.cpu > 0 && Number.isFinite(r.cpu))) {
    return { field: "cpu", message: "must be a positive number of cores, e.g. 0.5 or 2" };
  }
  if (r.pids !== undefined && !(Number.isInteger(r.pids) && r.pids >= 16)) {
    return { field: "pids", message: "must be a whole number of at least 16 (Node itself runs about ten threads)" };
  }
  return null;
}

/** A task's limits over its environment's defaults, field by field; null when neither sets any. */
export function mergeResources(task: Resources | null | undefined, env: Resources | null | undefined): Resources | null {
  const merged: Resources = { ...(env ?? {}), ...stripUndefined(task ?? {}) };
  return Object.keys(merged).length === 0 ? null : merged;
}

function stripUndefined(r: Resources): Resources {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Resources;
}
