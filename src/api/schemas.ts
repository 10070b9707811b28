/**
 * The one source of truth for what the API accepts and returns: zod schemas that validate requests at run time
 * and become the OpenAPI document's JSON Schemas.
 */
import { z } from "zod";
import { RUN_ID } from "../core/actions.js";
import { RUN_STATES, TASK_STATES, type RunState, type TaskState } from "../store/types.js";

/** Ids of DAGs, tasks, connections and variables: what the SDK allows, so a bad id is a 400, not a lookup. */
export const Id = z.string().min(1).max(250).regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "use letters, digits, '_', '-' and '.'");
/** Run ids are free-form (they often embed a timestamp) but bounded. */
export const RunId = z.string().min(1).max(250).regex(/^[^\x00-\x1f/\\]+$/, "must not contain '/', '\\' or control characters");

export const TaskStateSchema = z.enum(TASK_STATES as [TaskState, ...TaskState[]]);
export const RunStateSchema = z.enum(RUN_STATES as [RunState, ...RunState[]]);
export const RunTypeSchema = z.enum(["scheduled", "manual", "backfill", "test", "dataset_triggered"]);
const Timestamp = z.string().describe("ISO 8601 date-time");
const JsonObject = z.record(z.string(), z.unknown());

/** Paging: bounded so that "absurd paging" is a 400 rather than a huge query. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});

/** A comma-separated or repeated query parameter. */
export const csv = <T extends z.ZodType<string>>(item: T) =>
  z.preprocess((v) => {
    const list = Array.isArray(v) ? v : typeof v === "string" ? [v] : v;
    return Array.isArray(list) ? list.flatMap((s) => (typeof s === "string" ? s.split(",") : [s])).filter((s) => s !== "") : list;
  }, z.array(item).max(100));

const Bool = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());

// ---------- errors ----------
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), hint: z.string(), field: z.string().optional() }),
});

// ---------- DAGs ----------
export const RunBrief = z.object({
  runId: z.string(),
  state: RunStateSchema,
  runType: RunTypeSchema,
  logicalDate: Timestamp,
  startDate: Timestamp.nullable(),
  endDate: Timestamp.nullable(),
});

export const DagSummary = z.object({
  dagId: z.string(),
  description: z.string().nullable(),
  fileloc: z.string(),
  schedule: z.string().nullable(),
  timezone: z.string(),
  tags: z.array(z.string()),
  isPaused: z.boolean(),
  /** Why Airlock paused the DAG (maxConsecutiveFailedRuns); null when not paused or paused by a person. */
  pausedReason: z.string().nullable(),
  isActive: z.boolean(),
  taskCount: z.number().int(),
  lastParsedAt: Timestamp,
  nextLogicalDate: Timestamp.nullable(),
  /** When the next scheduled run actually starts (the end of its data interval). */
  nextRunAt: Timestamp.nullable(),
  /** Newest first. */
  recentRuns: z.array(RunBrief),
});

export const TaskView = z.object({
  taskId: z.string(),
  kind: z.string(),
  upstream: z.array(z.string()),
  downstream: z.array(z.string()),
  triggerRule: z.string(),
  retries: z.number().int(),
  pool: z.string(),
  queue: z.string(),
  environment: z.string().nullable(),
  backend: z.string().nullable(),
  doc: z.string().nullable(),
  /** Task group path ("extract", nested "extract.files"); null outside groups. */
  group: z.string().nullable(),
});

export const DagDetail = DagSummary.extend({
  startDate: z.string().nullable(),
  catchup: z.boolean(),
  maxActiveRuns: z.number().int(),
  params: JsonObject,
  paramsSchema: JsonObject.nullable(),
  versionHash: z.string(),
  /** The DAG was made by pipeline(): GET /pipelines/{id} has its nodes and datasets. */
  isPipeline: z.boolean(),
  /** Datasets whose new versions start a run (data-aware schedule). */
  scheduleDatasets: z.array(z.string()),
  /** Set while the DAG is paused and unpausing it would create many catch-up runs at once. */
  catchupWarning: z.string().nullable(),
  /** Topological order. */
  tasks: z.array(TaskView),
});

export const DagListQuery = PageQuery.extend({
  tags: csv(z.string().max(200)).optional(),
  paused: Bool.optional(),
  search: z.string().max(250).optional(),
  includeInactive: Bool.optional(),
  recentRuns: z.coerce.number().int().min(0).max(50).default(10),
});
export const DagList = z.object({ dags: z.array(DagSummary), total: z.number().int() });
export const TagList = z.object({ tags: z.array(z.string()) });
export const DagPatch = z.object({ isPaused: z.boolean() }).strict();

export const ImportErrorView = z.object({ fileloc: z.string(), message: z.string(), updatedAt: Timestamp });
export const ImportErrorList = z.object({ importErrors: z.array(ImportErrorView) });

export const GridQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(25) });
export const GridCell = z.object({
  state: TaskStateSchema,
  tryNumber: z.number().int(),
  mapped: z.record(z.string(), z.number().int()).optional()
    .describe("For a mapped task: how many of its instances are in each state (the cell's state sums them up)"),
});
export const Grid = z.object({
  dagId: z.string(),
  tasks: z.array(z.object({ taskId: z.string(), upstream: z.array(z.string()) })),
  /** Oldest first, so the newest run is the right-most column. */
  runs: z.array(RunBrief.extend({ cells: z.record(z.string(), GridCell) })),
});

// ---------- runs ----------
export const RunView = RunBrief.extend({
  dagId: z.string(),
  dataIntervalStart: Timestamp,
  dataIntervalEnd: Timestamp,
  conf: JsonObject,
  params: JsonObject,
  versionHash: z.string(),
  createdAt: Timestamp,
});
export const RunListQuery = PageQuery.extend({
  state: csv(RunStateSchema).optional(),
  runType: RunTypeSchema.optional(),
  order: z.enum(["asc", "desc"]).default("desc"),
});
export const RunList = z.object({ runs: z.array(RunView), total: z.number().int() });
export const TriggerBody = z.object({
  conf: JsonObject.optional(),
  logicalDate: z.iso.datetime({ offset: true }).optional(),
  runId: z.string().regex(RUN_ID, "use letters, digits and _ . : + - (at most 250)").optional(),
}).strict();
export const RunPatch = z.object({ state: z.enum(["success", "failed"]) }).strict();
export const ClearRunBody = z.object({
  taskIds: z.array(Id).max(10_000).optional(),
  onlyFailed: z.boolean().optional(),
  downstream: z.boolean().optional(),
}).strict();
export const Cleared = z.object({ cleared: z.array(z.string()) });

// ---------- task instances ----------
export const TaskInstanceView = z.object({
  dagId: z.string(),
  runId: z.string(),
  taskId: z.string(),
  mapIndex: z.number().int().describe("Position of a mapped instance in the list its task is mapped over; -1 for an unmapped task (or a mapped one not expanded yet)"),
  state: TaskStateSchema,
  tryNumber: z.number().int(),
  maxTries: z.number().int(),
  pool: z.string(),
  queue: z.string(),
  isolation: z.string().nullable(),
  reused: z.boolean().describe("The latest try ran in a long-lived runner shared with other tries (reuse: true)"),
  notBefore: Timestamp.nullable(),
  startDate: Timestamp.nullable(),
  endDate: Timestamp.nullable(),
  updatedAt: Timestamp,
  waitReason: z.string().nullable().describe("Why a queued task is not being claimed (no live worker serves its queue), else null"),
});
export const TaskInstanceList = z.object({ taskInstances: z.array(TaskInstanceView) });
export const TaskPatchBody = z.object({ state: z.enum(["success", "failed", "skipped"]) }).strict();
export const ClearTaskBody = z.object({
  downstream: z.boolean().optional(),
  upstream: z.boolean().optional(),
  /** Only instances that failed (failed or upstream_failed) among the selection. */
  onlyFailed: z.boolean().optional(),
  /** List what would be cleared, change nothing (the UI's clear dialog shows it before the user confirms). */
  dryRun: z.boolean().optional(),
}).strict();
export const TryView = z.object({
  tryNumber: z.number().int(),
  state: z.string(),
  isolation: z.string(),
  /** The try ran in a long-lived runner shared with other tries of its environment (`reuse: true`). */
  reused: z.boolean(),
  hostname: z.string(),
  workerId: z.string(),
  startedAt: Timestamp,
  endedAt: Timestamp.nullable(),
  exitCode: z.number().int().nullable(),
  error: z.object({ type: z.string(), message: z.string(), stack: z.string().optional() }).nullable(),
});
export const TryList = z.object({ tries: z.array(TryView) });
/** Which instance of a mapped task a task-instance route addresses; -1 (the default) is an unmapped task's only one. */
export const MapIndexQuery = z.object({
  mapIndex: z.coerce.number().int().min(-1).max(10_000_000).default(-1)
    .describe("Map index of the instance of a mapped task (0-based, as listed by GET …/tasks); -1 for an unmapped task"),
});
export const LogQuery = z.object({
  mapIndex: MapIndexQuery.shape.mapIndex,
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  maxBytes: z.coerce.number().int().min(1).max(4 * 1024 * 1024).default(256 * 1024),
});
export const LogChunk = z.object({
  text: z.string(),
  offset: z.number().int(),
  nextOffset: z.number().int(),
  complete: z.boolean(),
  /**
   * When the lines were written: each mark dates the bytes from its byte offset up to the next mark; the first one
   * may lie before `offset` (it is the mark in force there). Empty when unknown.
   */
  times: z.array(z.object({ offset: z.number().int(), at: Timestamp })),
});
/** An XCom; values over 1 MiB are not inlined (`truncated`), to keep the UI and the API responsive. */
export const XcomView = z.object({ value: z.unknown(), sizeBytes: z.number().int(), truncated: z.boolean() });

// ---------- environments ----------
export const EnvironmentView = z.object({
  name: z.string(),
  key: z.string().nullable(),
  state: z.string(),
  sizeBytes: z.number().nullable(),
  lastUsedAt: Timestamp.nullable(),
  /** Requested Node version (null = the orchestrator's). */
  node: z.string().nullable(),
  tasks: z.array(z.object({ dagId: z.string(), taskId: z.string() })),
  /** Why the spec is invalid, when it is. */
  error: z.string().nullable(),
});
export const EnvironmentList = z.object({ environments: z.array(EnvironmentView) });

// ---------- connections and variables ----------
export const ConnectionView = z.object({
  connId: z.string(),
  connType: z.string().nullable(),
  host: z.string().nullable(),
  port: z.number().int().nullable(),
  login: z.string().nullable(),
  schema: z.string().nullable(),
  /** Secret values are shown as "***". */
  extra: JsonObject.nullable(),
  description: z.string().nullable(),
  hasPassword: z.boolean(),
});
export const ConnectionList = z.object({ connections: z.array(ConnectionView) });
const CONNECTION_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([A-Za-z0-9._~%!$&'()*+,;=-]*(:[A-Za-z0-9._~%!$&'()*+,;=-]*)?@)?[A-Za-z0-9._~-]+(:[0-9]{1,4})?([/?#][\x21-\x7e]*)?$/;
export const ConnectionInput = z.object({
  connId: Id,
  /** type://login:password@host:port/schema?key=value (percent-encode other characters of the login and password). */
  uri: z.string().max(4096).regex(CONNECTION_URI, "use type://login:password@host:port/schema?key=value").optional(),
  connType: z.string().max(100).optional(),
  host: z.string().max(1000).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  login: z.string().max(1000).optional(),
  password: z.string().max(10_000).optional(),
  schema: z.string().max(1000).optional(),
  extra: JsonObject.optional(),
  description: z.string().max(4000).optional(),
}).strict();
export const VariableView = z.object({
  key: z.string(),
  /** Null for secret variables: their value is never returned. */
  value: z.string().nullable(),
  isSecret: z.boolean(),
  description: z.string().nullable(),
});
export const VariableList = z.object({ variables: z.array(VariableView) });
export const VariableInput = z.object({
  value: z.string().max(1024 * 1024),
  secret: z.boolean().optional(),
  description: z.string().max(4000).optional(),
}).strict();

// ---------- meta ----------
export const Health = z.object({ status: z.enum(["ok", "degraded"]), store: z.enum(["ok", "error"]), latestChangeId: z.number().nullable() });
export const Version = z.object({ version: z.string(), api: z.literal("v1") });
export const Deleted = z.object({ deleted: z.boolean() });

// ---------- SSE ----------
export const EventsQuery = z.object({
  token: z.string().max(1000).optional(),
  since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  dagId: Id.optional(),
  /** Tries whose log lines to stream, as "runId|taskId|tryNumber" (repeatable, at most 10). */
  log: z.preprocess((v) => (typeof v === "string" ? [v] : v), z.array(z.string().max(600).regex(/^[^|]+\|[^|]+\|[1-9][0-9]{0,5}(\|[0-9]{1,15})?$/, "use runId|taskId|tryNumber[|offset]")).max(10)).optional(),
});

/** One server-sent event as a client parses it (OpenAPI 3.1 describes each event of a text/event-stream). */
export const SseEvent = z.object({
  event: z.enum(["ready", "change", "log"]).optional().describe("ready: the stream is open; change: a state change; log: lines of a followed try"),
  data: z.string().describe("JSON of the event"),
  id: z.string().optional().describe("change events: the id to resume from (Last-Event-ID)"),
  retry: z.number().int().optional(),
});

/** Params of paths, shared. */
export const DagParams = z.object({ dagId: Id });
export const RunParams = DagParams.extend({ runId: RunId });
export const TaskParams = RunParams.extend({ taskId: Id });
export const TryParams = TaskParams.extend({ tryNumber: z.coerce.number().int().min(1).max(100_000) });

export const WorkerStateSchema = z.enum(["live", "lost", "stopped"]);
export const WorkerView = z.object({
  workerId: z.string(),
  hostname: z.string(),
  state: WorkerStateSchema,
  queues: z.array(z.string()),
  backends: z.array(z.string()),
  version: z.string(),
  pid: z.number().int(),
  startedAt: Timestamp,
  heartbeatAt: Timestamp,
  silentForMs: z.number().int(),
  runningTries: z.array(z.object({ dagId: z.string(), runId: z.string(), taskId: z.string(), tryNumber: z.number().int() })),
});
export const WorkerList = z.object({ workers: z.array(WorkerView) });
export const QueueName = z.string().min(1).max(200).regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/, "use letters, digits, '_', '.', ':' and '-'");
export const RouteView = z.object({
  target: z.string().describe("<dag> or <dag>.<task>"),
  dagId: z.string(),
  taskId: z.string().nullable(),
  queue: z.string(),
  fallbacks: z.array(z.string()),
  updatedBy: z.string(),
  updatedAt: Timestamp,
});
export const RouteList = z.object({ routes: z.array(RouteView) });
export const RouteParams = z.object({ target: z.string().min(1).max(500) });
export const RouteInput = z.object({
  queue: QueueName,
  fallbacks: z.array(QueueName).max(20).optional().describe("queues used, in order, while the route's queue has had no live worker for executor.fallbackAfterMs"),
}).strict();
