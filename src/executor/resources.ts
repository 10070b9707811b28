/** Resource quantities as written in DAGs ("256Mi", "1Gi", bytes) converted for limits and messages. */

const UNITS: Record<string, number> = { "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** Bytes of a memory quantity, or null when none is set. */
export function memoryBytes(v: string | number | undefined | null): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "number") return Math.floor(v);
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G|k|m|g)?$/.exec(v.trim());
  if (!m) return null;
  return Math.floor(Number(m[1]) * (UNITS[m[2] ?? ""] ?? 1));
}

/** MiB of a memory quantity (rounded), or null. */
export function memoryMiB(v: string | number | undefined | null): number | null {
  const b = memoryBytes(v);
  return b === null ? null : Math.round(b / 1024 ** 2);
}
