/** The DAG (or backfill) field a schedule problem is about. */
export type ScheduleField = "schedule" | "timezone" | "startDate" | "endDate" | "range" | "lastLogicalDate";

/** A DAG's schedule, time zone or dates cannot be used; the message names the field and says how to fix it. */
export class ScheduleError extends Error {
  override name = "ScheduleError";
  constructor(message: string, readonly field: ScheduleField, options?: { cause?: unknown }) {
    super(message, options);
  }
}
