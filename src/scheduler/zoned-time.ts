/**
 * Wall-clock time in IANA time zones, with nothing but `Intl` (no I/O, no dependencies), so both the scheduler and
 * the templating code inside a task's runner can use it.
 */

/** Calendar and clock fields of an instant as seen in some time zone (month 1-12). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** True when `timezone` names an IANA time zone this runtime knows (e.g. "Europe/Oslo", "UTC"). */
export function isValidTimeZone(timezone: string): boolean {
  if (typeof timezone !== "string" || timezone.trim() === "") return false;
  try {
    formatterFor(timezone);
    return true;
  } catch {
    return false;
  }
}

/** The wall time of an instant (ms since epoch) in a time zone. */
export function wallTime(instantMs: number, timezone: string): WallTime {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timezone).formatToParts(new Date(instantMs))) {
    if (part.type !== "literal") fields[part.type] = Number(part.value);
  }
  return {
    year: fields.year ?? NaN, month: fields.month ?? NaN, day: fields.day ?? NaN,
    hour: fields.hour ?? NaN, minute: fields.minute ?? NaN, second: fields.second ?? NaN,
    millisecond: ((instantMs % 1000) + 1000) % 1000,
  };
}

/** Offset of the zone from UTC at an instant, in ms (positive east of Greenwich). */
export function offsetMs(instantMs: number, timezone: string): number {
  const w = wallTime(instantMs, timezone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond) - instantMs;
}

/**
 * The instant a wall time denotes in a zone. A time that occurs twice (DST ends) means its first occurrence; a time
 * that does not exist (DST starts) is moved forward by the gap, as clocks do (02:30 becomes 03:30).
 */
export function instantOf(w: WallTime, timezone: string): number {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
  const dayMs = 86_400_000;
  const offsets = [...new Set([offsetMs(asUtc - dayMs, timezone), offsetMs(asUtc, timezone), offsetMs(asUtc + dayMs, timezone)])];
  const valid = offsets.map((o) => asUtc - o).filter((t) => offsetMs(t, timezone) === asUtc - t);
  if (valid.length > 0) return Math.min(...valid);
  // In a gap: read the wall time with the offset in force before the gap.
  return asUtc - offsetMs(asUtc - dayMs, timezone);
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses "2026-01-01", "2026-01-01T03:00[:00[.000]]" or the same with "Z"/"+01:00". Without an offset the text is a
 * wall time in `timezone`. Returns ms since epoch, or undefined when the text is not such a date.
 */
export function parseZonedDate(text: string, timezone: string): number | undefined {
  if (typeof text !== "string") return undefined;
  const s = text.trim();
  const d = DATE_ONLY.exec(s);
  const m = d ?? DATE_TIME.exec(s);
  if (!m) return undefined;
  const w: WallTime = {
    year: Number(m[1]), month: Number(m[2]), day: Number(m[3]),
    hour: d ? 0 : Number(m[4]), minute: d ? 0 : Number(m[5]), second: d ? 0 : Number(m[6] ?? 0),
    millisecond: d ? 0 : Number((m[7] ?? "0").slice(0, 3).padEnd(3, "0")),
  };
  if (!isRealWallTime(w)) return undefined;
  const zone = d ? undefined : m[8];
  if (zone === undefined) return instantOf(w, timezone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
  if (zone.toUpperCase() === "Z") return asUtc;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || "0");
  if (hours > 23 || minutes > 59) return undefined;
  return asUtc - sign * (hours * 60 + minutes) * 60_000;
}

function isRealWallTime(w: WallTime): boolean {
  if (w.month < 1 || w.month > 12 || w.day < 1 || w.hour > 23 || w.minute > 59 || w.second > 59) return false;
  // Date.UTC rolls 2026-02-30 over into March; a real date survives the round trip.
  return new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDate() === w.day;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** YYYY-MM-DD of an instant (ISO string, Date or ms) in a time zone: Airflow's `ds`, read in the DAG's zone. */
export function formatDs(instant: string | Date | number, timezone: string): string {
  const w = wallTime(toMs(instant), timezone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** ISO 8601 with the zone's offset and whole seconds, e.g. "2026-01-01T00:00:00+01:00". */
export function formatIsoInZone(instant: string | Date | number, timezone: string): string {
  const ms = toMs(instant);
  const w = wallTime(ms, timezone);
  const off = Math.round(offsetMs(ms, timezone) / 60_000);
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`
    + `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function toMs(instant: string | Date | number): number {
  const ms = instant instanceof Date ? instant.getTime() : typeof instant === "number" ? instant : Date.parse(instant);
  if (!Number.isFinite(ms)) throw new RangeError(`invalid instant ${JSON.stringify(instant)}: pass an ISO 8601 date-time such as "2026-01-01T00:00:00Z"`);
  return ms;
}
