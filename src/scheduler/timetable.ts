/**
 * Timetables with Airflow's data-interval semantics: a run's logical date is the START of its data interval, and the
 * run for [start, end) is due once `end` has passed. Pure functions over a serialized DAG's schedule fields.
 */
import type { SerializedDag } from "../sdk/serialized.js";
import { compileSchedule, type CompiledSchedule } from "./cron-schedule.js";
import { ScheduleError } from "./schedule-error.js";

export { ScheduleError, type ScheduleField } from "./schedule-error.js";
export { SCHEDULE_PRESETS } from "./cron-schedule.js";
export { formatDs } from "./zoned-time.js";

/** The schedule fields of a DAG a timetable reads. */
export type TimetableDag = Pick<SerializedDag, "schedule" | "timezone" | "startDate" | "endDate" | "catchup">;

/** One run's dates: ISO 8601 in UTC with milliseconds; `logicalDate` equals `dataIntervalStart`. */
export interface RunInterval {
  logicalDate: string;
  dataIntervalStart: string;
  dataIntervalEnd: string;
}

/** Backfills above this many runs are refused; split the range instead. */
export const MAX_BACKFILL_INTERVALS = 10_000;

/** Throws ScheduleError (naming `schedule`, `timezone`, `startDate` or `endDate`) unless the fields can be scheduled. */
export function validateSchedule(schedule: string | null, timezone: string, startDate: string | null, endDate: string | null): void {
  compileSchedule({ schedule, timezone, startDate, endDate });
}

/**
 * The next interval to create, given the logical date of the latest scheduled run (null: none yet), or null when
 * none is due at `now`. With `catchup: false` it skips to the latest complete interval (never before startDate).
 */
export function nextRunInterval(dag: TimetableDag, lastLogicalDate: string | null, now: Date): RunInterval | null {
  const next = candidate(dag, lastLogicalDate, now);
  return next !== null && next.end <= now.getTime() ? toInterval(next.start, next.end) : null;
}

/**
 * When the next interval becomes due (its end; for `@once` its start), for the scheduler's sleep and the UI's "next
 * run"; a time at or before `now` means a run is due already. Null when the schedule creates no more runs.
 */
export function nextDueAt(dag: TimetableDag, lastLogicalDate: string | null, now: Date): Date | null {
  const next = candidate(dag, lastLogicalDate, now);
  return next === null ? null : new Date(next.end);
}

/**
 * How many runs the scheduler would create at `now` for the DAG (catch-up after an unpause), counting at most
 * `cap` (a return of `cap` means "at least").
 */
export function pendingRunCount(dag: TimetableDag, lastLogicalDate: string | null, now: Date, cap: number): number {
  let last = lastLogicalDate;
  let n = 0;
  while (n < cap) {
    const next = nextRunInterval(dag, last, now);
    if (!next || next.logicalDate === last) break;
    last = next.logicalDate;
    n++;
  }
  return n;
}

/**
 * When the run of logical date `logicalDate` actually starts: the end of its data interval (Airflow's semantics: the
 * run for a day starts once the day is over); for `@once`, the date itself. Null for a manual DAG or a bad date.
 */
export function runStartsAt(dag: TimetableDag, logicalDate: string | null): string | null {
  if (logicalDate === null) return null;
  const t = Date.parse(logicalDate);
  if (!Number.isFinite(t)) return null;
  try {
    const s = compile(dag);
    if (s.kind === "manual") return null;
    if (s.kind === "once") return new Date(t).toISOString();
    const end = s.ticks.after(t);
    return end === null ? null : new Date(end).toISOString();
  } catch {
    return null;
  }
}

/** Every interval whose logical date lies in [start, end] (both inclusive), in order, for a backfill. */
export function intervalsBetween(dag: TimetableDag, start: Date, end: Date): RunInterval[] {
  const s = compile(dag);
  const from = start.getTime();
  const to = end.getTime();
  if (!Number.isFinite(from) || !Number.isFinite(to)) {
    throw new ScheduleError("backfill range has an invalid date: pass dates such as 2026-01-01 or 2026-01-01T06:00:00Z", "range");
  }
  if (from > to) {
    throw new ScheduleError(`backfill start ${start.toISOString()} is after its end ${end.toISOString()}: swap --start and --end`, "range");
  }
  if (s.kind === "manual") {
    throw new ScheduleError("a DAG with schedule null runs only when triggered, so it has no intervals to backfill: give it a schedule, or trigger runs with --conf instead", "schedule");
  }
  if (s.kind === "once") return s.start >= from && s.start <= to ? [toInterval(s.start, s.start)] : [];
  const out: RunInterval[] = [];
  let t = s.ticks.atOrAfter(from);
  while (t !== null && t <= to) {
    const intervalEnd = s.ticks.after(t);
    if (intervalEnd === null) break;
    if (out.length === MAX_BACKFILL_INTERVALS) {
      throw new ScheduleError(`backfill from ${start.toISOString()} to ${end.toISOString()} spans more than ${MAX_BACKFILL_INTERVALS} intervals of schedule ${JSON.stringify(dag.schedule)}: split it into smaller ranges`, "range");
    }
    out.push(toInterval(t, intervalEnd));
    t = intervalEnd;
  }
  return out;
}

/** The interval of a manually triggered run: logical date = now, interval [now, now]. */
export function manualRunInterval(dag: TimetableDag, now: Date): RunInterval {
  compile(dag);
  return toInterval(now.getTime(), now.getTime());
}

function compile(dag: TimetableDag): CompiledSchedule {
  return compileSchedule({ schedule: dag.schedule, timezone: dag.timezone, startDate: dag.startDate, endDate: dag.endDate });
}

/** The next interval to create regardless of whether it is due yet. */
function candidate(dag: TimetableDag, lastLogicalDate: string | null, now: Date): { start: number; end: number } | null {
  const s = compile(dag);
  const last = lastLogicalDate === null ? null : Date.parse(lastLogicalDate);
  if (last !== null && !Number.isFinite(last)) {
    throw new ScheduleError(`last logical date ${JSON.stringify(lastLogicalDate)} is not an ISO 8601 date-time`, "lastLogicalDate");
  }
  if (s.kind === "manual") return null;
  if (s.kind === "once") {
    if (last !== null || (s.end !== null && s.start > s.end)) return null;
    return { start: s.start, end: s.start };
  }
  const first = s.ticks.atOrAfter(s.start);
  if (first === null) return null;
  let start: number | null = last === null ? first : s.ticks.after(last);
  if (start !== null && start < first) start = first;
  if (!dag.catchup && start !== null) {
    // Skip to the latest complete interval at `now`, clipped to endDate so a finished DAG still gets its last run.
    const latestEnd = s.ticks.atOrBefore(now.getTime());
    let latestStart = latestEnd === null ? null : s.ticks.before(latestEnd);
    if (latestStart !== null && s.end !== null) {
      const lastAllowed = s.ticks.atOrBefore(s.end);
      if (lastAllowed !== null && lastAllowed < latestStart) latestStart = lastAllowed;
    }
    if (latestStart !== null && latestStart > start) start = latestStart;
  }
  if (start === null || (s.end !== null && start > s.end)) return null;
  const end = s.ticks.after(start);
  return end === null ? null : { start, end };
}

function toInterval(start: number, end: number): RunInterval {
  const logicalDate = new Date(start).toISOString();
  return { logicalDate, dataIntervalStart: logicalDate, dataIntervalEnd: new Date(end).toISOString() };
}
