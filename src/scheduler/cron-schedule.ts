/**
 * A DAG's schedule compiled once: manual, once, or a cron expression evaluated in an IANA zone by croner.
 * Validation lives here so every entry point reports the same errors.
 */
import { Cron } from "croner";
import { ScheduleError } from "./schedule-error.js";
import { isValidTimeZone, parseZonedDate } from "./zoned-time.js";

/** Cron expressions of the presets Airflow users know; `@once` is handled apart. */
export const SCHEDULE_PRESETS: Readonly<Record<string, string>> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};

const FIELD_NAMES = ["minute (0-59)", "hour (0-23)", "day-of-month (1-31)", "month (1-12 or JAN-DEC)", "day-of-week (0-6 or SUN-SAT)"];
const CRON_HELP = `a cron expression has 5 fields: ${FIELD_NAMES.join(" ")}, e.g. "0 3 * * *"; or use one of @once, ${Object.keys(SCHEDULE_PRESETS).join(", ")}, or null for manual runs only`;

/** The schedule fields of a serialized DAG. */
export interface ScheduleSpec {
  schedule: string | null;
  timezone: string;
  startDate: string | null;
  endDate: string | null;
}

/** A schedule ready to evaluate; instants are ms since epoch. */
export type CompiledSchedule =
  | { kind: "manual"; start: number | null; end: number | null }
  | { kind: "once"; start: number; end: number | null }
  | { kind: "cron"; expression: string; ticks: CronTicks; start: number; end: number | null };

/** Validates a DAG's schedule fields and compiles them; throws ScheduleError naming the field. */
export function compileSchedule(spec: ScheduleSpec): CompiledSchedule {
  const { schedule, timezone } = spec;
  if (!isValidTimeZone(timezone)) {
    throw new ScheduleError(`timezone ${JSON.stringify(timezone)} is not a known IANA time zone: use a name such as "UTC", "Europe/Oslo" or "America/New_York"`, "timezone");
  }
  const start = parseDateField(spec.startDate, timezone, "startDate");
  const end = parseDateField(spec.endDate, timezone, "endDate");
  if (start !== null && end !== null && end < start) {
    throw new ScheduleError(`endDate ${JSON.stringify(spec.endDate)} is before startDate ${JSON.stringify(spec.startDate)}: move endDate after startDate or remove it`, "endDate");
  }
  if (schedule === null) return { kind: "manual", start, end };
  if (typeof schedule !== "string" || schedule.trim() === "") {
    throw new ScheduleError(`schedule ${JSON.stringify(schedule)} is not a schedule: ${CRON_HELP}`, "schedule");
  }
  if (start === null) {
    throw new ScheduleError(`schedule ${JSON.stringify(schedule)} needs a startDate (the first logical date), e.g. startDate: "2026-01-01"; or set schedule: null for manual runs only`, "startDate");
  }
  const text = schedule.trim();
  if (text === "@once") return { kind: "once", start, end };
  const expression = text.startsWith("@") ? SCHEDULE_PRESETS[text] : text;
  if (expression === undefined) {
    throw new ScheduleError(`schedule ${JSON.stringify(schedule)} is not a known preset: ${CRON_HELP}`, "schedule");
  }
  const ticks = new CronTicks(makeCron(expression, timezone, schedule), timezone);
  if (ticks.atOrAfter(start) === null) {
    throw new ScheduleError(`schedule ${JSON.stringify(schedule)} never matches a date on or after startDate ${JSON.stringify(spec.startDate)}: check the day-of-month and month fields (e.g. "0 0 30 2 *" never happens)`, "schedule");
  }
  return { kind: "cron", expression, ticks, start, end };
}

function parseDateField(value: string | null, timezone: string, field: "startDate" | "endDate"): number | null {
  if (value === null || value === undefined) return null;
  const ms = parseZonedDate(value, timezone);
  if (ms === undefined) {
    throw new ScheduleError(`${field} ${JSON.stringify(value)} is not a date: use "2026-01-01" or an ISO date-time such as "2026-01-01T06:00" (read in the DAG's timezone) or "2026-01-01T06:00:00Z"`, field);
  }
  return ms;
}

function makeCron(expression: string, timezone: string, original: string): Cron {
  const fields = expression.split(/\s+/);
  if (fields.length !== 5) {
    throw new ScheduleError(`schedule ${JSON.stringify(original)} has ${fields.length} ${fields.length === 1 ? "field" : "fields"}: ${CRON_HELP}`, "schedule");
  }
  try {
    return new Cron(expression, { timezone, mode: "5-part", paused: true });
  } catch (cause) {
    // Find the offending field by trying each one alone, so the message can point at it.
    const bad = fields.findIndex((f, i) => {
      const probe = fields.map((_, j) => (j === i ? f : "*")).join(" ");
      try {
        new Cron(probe, { timezone, mode: "5-part", paused: true });
        return false;
      } catch {
        return true;
      }
    });
    const detail = cause instanceof Error ? cause.message : String(cause);
    const which = bad >= 0 ? `its ${FIELD_NAMES[bad]} field ${JSON.stringify(fields[bad])} is invalid` : "it is invalid";
    throw new ScheduleError(`schedule ${JSON.stringify(original)}: ${which} (${detail}); ${CRON_HELP}`, "schedule", { cause });
  }
}

/** Cron ticks around an instant, with inclusive and exclusive variants (croner's own calls are exclusive). */
export class CronTicks {
  constructor(private readonly cron: Cron, readonly timezone: string) {}

  /** First tick strictly after `t`. */
  after(t: number): number | null {
    let r = this.cron.nextRun(new Date(t));
    // croner drops milliseconds, so a reference inside a tick's second can return that tick.
    while (r !== null && r.getTime() <= t) r = this.cron.nextRun(r);
    return r === null ? null : r.getTime();
  }

  /** First tick at or after `t`. */
  atOrAfter(t: number): number | null {
    return this.after(t - 1);
  }

  /** Last tick at or before `t`. */
  atOrBefore(t: number): number | null {
    let r: Date | undefined = this.cron.previousRuns(1, new Date(t + 1000))[0];
    while (r !== undefined && r.getTime() > t) r = this.cron.previousRuns(1, r)[0];
    return r === undefined ? null : r.getTime();
  }

  /** Last tick strictly before `t`. */
  before(t: number): number | null {
    return this.atOrBefore(t - 1);
  }
}
