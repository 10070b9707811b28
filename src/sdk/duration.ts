import { DagDefinitionError } from "./errors.js";

/** A duration: milliseconds as a number, or a string such as "500ms", "5s", "2m", "1h", "1d", "1h30m". */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Converts a Duration to milliseconds; `field` names the option in the error. */
export function parseDuration(value: Duration, field: string): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new DagDefinitionError(`${field}: ${value} is not a duration; use milliseconds >= 0 or a string such as "30s"`, field);
    return value;
  }
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return parseDuration(Number(text), field);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) {
    throw new DagDefinitionError(`${field}: "${text}" is not a duration; write it as "500ms", "30s", "5m", "2h", "1d" or "1h30m"`, field);
  }
  return total;
}
