/** Schemas of the read-only views the UI draws charts from: code, calendar, task durations, Gantt and XComs of a run. */
import { z } from "zod";
import { RunBrief, RunStateSchema, TaskStateSchema } from "./schemas.js";

const Timestamp = z.string().describe("ISO 8601 date-time");

export const DagCode = z.object({
  dagId: z.string(),
  fileloc: z.string(),
  /** The DAG file as it is on disk now, with known secret values replaced by ***. */
  source: z.string(),
  sizeBytes: z.number().int(),
  /** The file was longer than the limit; `source` holds its beginning. */
  truncated: z.boolean(),
  modifiedAt: Timestamp,
});

export const CalendarQuery = z.object({
  days: z.coerce.number().int().min(1).max(1100).default(366).describe("how many days back from today"),
});
export const CalendarDay = z.object({
  /** YYYY-MM-DD of the runs' logical dates, in the DAG's time zone. */
  date: z.string(),
  total: z.number().int(),
  /** Runs of that day by state. */
  states: z.partialRecord(RunStateSchema, z.number().int()),
});
export const Calendar = z.object({ dagId: z.string(), timezone: z.string(), from: z.string(), to: z.string(), days: z.array(CalendarDay) });

export const DurationsQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(25) });
export const TaskDurations = z.object({
  dagId: z.string(),
  /** Oldest first; `tasks[].seconds[i]` belongs to `runs[i]`. */
  runs: z.array(RunBrief),
  tasks: z.array(z.object({
    taskId: z.string(),
    /** Seconds from the start of the last try to its end (null: not run or still running). */
    seconds: z.array(z.number().nullable()),
    states: z.array(TaskStateSchema.nullable()),
  })),
});

export const GanttTry = z.object({ tryNumber: z.number().int(), state: z.string(), startedAt: Timestamp, endedAt: Timestamp.nullable() });
export const Gantt = z.object({
  dagId: z.string(),
  run: RunBrief,
  /** In the DAG's declared order. */
  tasks: z.array(z.object({
    taskId: z.string(),
    state: TaskStateSchema,
    startDate: Timestamp.nullable(),
    endDate: Timestamp.nullable(),
    tries: z.array(GanttTry),
  })),
});

export const RunXcoms = z.object({
  runId: z.string(),
  /** Tasks with an XCom, in the DAG's declared order. Values over 64 KiB are not inlined (`truncated`). */
  xcoms: z.array(z.object({ taskId: z.string(), value: z.unknown(), sizeBytes: z.number().int(), truncated: z.boolean() })),
});
