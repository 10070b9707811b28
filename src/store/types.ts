import type { BackendName } from "../sdk/types.js";
import type { SerializedDag } from "../sdk/serialized.js";
import type { ProtocolError } from "../runner/protocol.js";
import type { TryHandle } from "../backends/types.js";

/** States of a task instance (Airflow's). */
export type TaskState =
  | "none" | "scheduled" | "queued" | "running" | "success" | "failed" | "up_for_retry" | "upstream_failed" | "skipped"
  /** A sensor in mode "reschedule" between pokes: it holds no slot; `notBefore` is its next poke. */
  | "up_for_reschedule"
  /** A sensor in mode "deferrable" waiting on its trigger, evaluated by a worker's trigger loop: no process, no slot. */
  | "deferred";
export const TASK_STATES: readonly TaskState[] = ["none", "scheduled", "queued", "running", "success", "failed", "up_for_retry", "upstream_failed", "skipped", "up_for_reschedule", "deferred"];
/** States a task instance does not leave on its own. */
export const FINISHED_TASK_STATES: readonly TaskState[] = ["success", "failed", "upstream_failed", "skipped"];

/** States of a DAG run. */
export type RunState = "queued" | "running" | "success" | "failed";
export const RUN_STATES: readonly RunState[] = ["queued", "running", "success", "failed"];

/** "test" runs belong to `airlock dags test`, which drives them itself; the scheduler leaves them alone. */
export type RunType = "scheduled" | "manual" | "backfill" | "test" | "dataset_triggered";

/** A DAG as the store knows it. */
export interface DagRecord {
  dagId: string;
  fileloc: string;
  isPaused: boolean;
  /** False once its file no longer defines it. */
  isActive: boolean;
  versionHash: string;
  serialized: SerializedDag;
  /** Compiled module the runner imports for callables. */
  bundlePath: string;
  lastParsedAt: string;
  /** Logical date of the next scheduled run, if any (maintained by the scheduler). */
  nextLogicalDate: string | null;
  /** Why Airlock paused it (e.g. too many failed runs in a row); null when not paused or paused by a person. */
  pausedReason: string | null;
}

/** One stored version of a DAG; runs keep the version they were created with. */
export interface DagVersion {
  hash: string;
  dagId: string;
  serialized: SerializedDag;
  bundlePath: string;
  createdAt: string;
}

export interface ImportError {
  fileloc: string;
  message: string;
  updatedAt: string;
}

export interface DagRun {
  runId: string;
  dagId: string;
  runType: RunType;
  state: RunState;
  logicalDate: string;
  dataIntervalStart: string;
  dataIntervalEnd: string;
  conf: Record<string, unknown>;
  /** Params after conf overrides, as tasks see them. */
  params: Record<string, unknown>;
  versionHash: string;
  createdAt: string;
  startDate: string | null;
  endDate: string | null;
}

/** Mapped instances of one task in one state and queue, counted rather than read (see `Store.runInstancesView`). */
export interface CountedInstances {
  taskId: string;
  state: TaskState;
  queue: string;
  count: number;
  /** Latest end date and highest try number among them. */
  endDate: string | null;
  tryNumber: number;
}

/** A run's instances as the scheduler evaluates them: rows it may act on, the rest of mapped tasks as counts. */
export interface RunInstancesView {
  /** Every unmapped instance, and mapped ones in a state the evaluation may change (none, scheduled, waiting). */
  instances: TaskInstance[];
  counted: CountedInstances[];
}

export interface TaskInstance {
  dagId: string;
  runId: string;
  taskId: string;
  /** Position of a mapped instance in the list it is mapped over; -1 for an unmapped (or not yet expanded) task. */
  mapIndex: number;
  state: TaskState;
  /** Number of the latest try (0 before the first). */
  tryNumber: number;
  /** Total tries allowed (retries + 1). */
  maxTries: number;
  pool: string;
  queue: string;
  /** Isolation level of the latest try. */
  isolation: BackendName | null;
  /** Earliest time a try may be queued (retry delay). */
  notBefore: string | null;
  startDate: string | null;
  endDate: string | null;
  updatedAt: string;
}

/** "deferred": the try handed its wait to a trigger and holds no process. */
export type TryState = "running" | "success" | "failed" | "skipped" | "deferred";

export interface TaskTry {
  dagId: string;
  runId: string;
  taskId: string;
  /** The instance's map index (-1 unmapped). */
  mapIndex: number;
  tryNumber: number;
  state: TryState;
  isolation: BackendName;
  workerId: string;
  hostname: string;
  handle: TryHandle | null;
  logPath: string;
  startedAt: string;
  endedAt: string | null;
  exitCode: number | null;
  error: ProtocolError | null;
  /** Fencing epoch: raised each time another worker takes the try over; writes must carry the current one. */
  epoch: number;
  /** It ran in a long-lived runner shared with other tries (`reuse: true`), as its handle said. */
  reused: boolean;
}

/** A connection with its secret fields encrypted (ciphertext strings). */
export interface ConnectionRow {
  connId: string;
  connType: string | null;
  host: string | null;
  port: number | null;
  login: string | null;
  passwordEnc: string | null;
  schema: string | null;
  extraEnc: string | null;
  description: string | null;
}

export interface VariableRow {
  key: string;
  valueEnc: string;
  isSecret: boolean;
  description: string | null;
}

/** A row of the change feed that the API streams (SSE) and other processes poll. */
export interface ChangeEvent {
  id: number;
  at: string;
  kind: "dag" | "run" | "task" | "log" | "import_error" | "environment" | "dataset";
  dagId: string | null;
  runId: string | null;
  taskId: string | null;
  tryNumber: number | null;
  state: string | null;
}

export interface Pool {
  name: string;
  slots: number;
  description: string | null;
}

/** A pool with its occupancy. */
export interface PoolUsage extends Pool {
  running: number;
  queued: number;
  /** False for a pool that tasks name but that was never created (it gets the default pool's slots). */
  defined: boolean;
}

export interface Page {
  limit?: number;
  offset?: number;
}

/** A worker is live while it heartbeats; lost once silent for longer than executor.workerTimeoutMs; stopped when it said so. */
export type WorkerState = "live" | "lost" | "stopped";
export const WORKER_STATES: readonly WorkerState[] = ["live", "lost", "stopped"];

/** A registered worker (every executor, standalone included). */
export interface WorkerRecord {
  workerId: string;
  /** Host name the worker runs tries on (executor.hostname, default the machine's). */
  hostname: string;
  /** The machine's own host name, for checking a same-machine worker's process. */
  machine: string;
  pid: number;
  queues: string[];
  backends: string[];
  version: string;
  startedAt: string;
  /** Last heartbeat (ISO). */
  heartbeatAt: string;
  state: WorkerState;
  stateChangedAt: string;
}

/** A routing rule: a DAG (taskId null) or one task of it runs on `queue`, else on the first served fallback. */
export interface Route {
  /** "<dag>" or "<dag>.<task>". */
  target: string;
  dagId: string;
  taskId: string | null;
  queue: string;
  fallbacks: string[];
  updatedBy: string;
  updatedAt: string;
}

/** One version of a dataset: written by a pipeline node's successful try, published at `uri`. */
export interface DatasetVersion {
  id: number;
  name: string;
  dagId: string;
  runId: string;
  taskId: string;
  tryNumber: number;
  type: string;
  /** Local path or s3:// URL of this version. */
  uri: string;
  size: number;
  createdAt: string;
}

/** A dataset with its newest version. */
export interface DatasetSummary {
  name: string;
  versions: number;
  latest: DatasetVersion;
}

/** What an audit event records (a closed list: the API and the CLI map every change they make to one of these). */
export const AUDIT_ACTIONS = [
  "trigger", "clear", "mark", "pause", "unpause", "delete", "backfill", "route.set", "route.rm", "pool.set", "pool.delete",
  "connection.set", "connection.delete", "variable.set", "variable.delete",
] as const;
/** One of AUDIT_ACTIONS. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who changed what, when, and on what. `details` never holds a secret value (see core/audit.ts). */
export interface AuditEvent {
  eventId: number;
  at: string;
  /** A token's name, an operating-system user (CLI), or "local" (the API without tokens). */
  actor: string;
  /** How the change came: "api" (REST and the web UI) or "cli" (a command writing to the store). */
  via: "api" | "cli";
  action: AuditAction;
  dagId: string | null;
  /** What it acted on within the DAG (a run, a task of a run) or outside one (a pool, a route, a connection). */
  target: string | null;
  details: Record<string, unknown>;
}

/** An audit event to record. */
export type NewAuditEvent = Omit<AuditEvent, "eventId" | "at">;

/** Filters of the audit log, newest first. */
export interface ListAuditQuery {
  dagId?: string;
  action?: AuditAction;
  /** ISO instant: only events at or after it. */
  since?: string;
  limit?: number;
  offset?: number;
}
