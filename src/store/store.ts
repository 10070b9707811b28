/**
 * The storage interface the core owns. SQLite and Postgres are adapters that pass one contract suite
 * (test/store.contract.ts). Every state change also appends a row to the change feed.
 */
import type { BackendName } from "../sdk/types.js";
import type { SerializedDag } from "../sdk/serialized.js";
import type { ProtocolError } from "../runner/protocol.js";
import type { TryHandle } from "../backends/types.js";
import type { ShippedLogSlice, ShippedTimeMark } from "./ops/log-chunks.js";
import type { AuditEvent, ListAuditQuery, NewAuditEvent, RunInstancesView } from "./types.js";
import type { TriggerRecord } from "./ops/triggers.js";
import type { ReusedTry } from "./ops/reused.js";
import type {
  ChangeEvent, ConnectionRow, DagRecord, DagRun, DagVersion, ImportError, Page, Pool, PoolUsage, Route, RunState, RunType,
  TaskInstance, TaskState, TaskTry, TryState, VariableRow, DatasetSummary, DatasetVersion, WorkerRecord, WorkerState,
} from "./types.js";

/** Who may write a try: the owning worker and the epoch it got when it claimed or took the try over. */
export interface TryFence {
  workerId: string;
  epoch: number;
}

/** Proof of holding a lease, checked in the same transaction as the write it guards. */
export interface LeaseFence {
  name: string;
  holder: string;
  epoch: number;
}

/** What a worker registers: its record without what the store keeps track of. */
export type NewWorker = Pick<WorkerRecord, "workerId" | "hostname" | "machine" | "pid" | "queues" | "backends" | "version">;

export interface ListDagsQuery extends Page {
  paused?: boolean;
  tags?: string[];
  /** Case-insensitive substring of the DAG id. */
  search?: string;
  includeInactive?: boolean;
}

export interface NewRun {
  runId: string;
  dagId: string;
  runType: RunType;
  logicalDate: string;
  dataIntervalStart: string;
  dataIntervalEnd: string;
  conf: Record<string, unknown>;
  params: Record<string, unknown>;
  versionHash: string;
  /** Task ids and their instance settings, created in state "none". Priority weight is the effective one. @default weight 1 */
  tasks: Array<{ taskId: string; maxTries: number; pool: string; queue: string; priorityWeight?: number; maxActiveTis?: number | null }>;
  /** Bound on running task instances of the run's DAG (the DAG's maxActiveTasks). @default null (none) */
  maxActiveTasks?: number | null;
}

export interface ListRunsQuery extends Page {
  dagId?: string;
  states?: RunState[];
  runType?: RunType;
  /** Newest logical date first (default) or oldest first. */
  order?: "desc" | "asc";
}

/** Patch applied by a conditional task-instance transition. */
export interface TaskPatch {
  state: TaskState;
  queue?: string;
  notBefore?: string | null;
  startDate?: string | null;
  endDate?: string | null;
  tryNumber?: number;
  isolation?: BackendName | null;
  maxTries?: number;
}

/** A queued task instance handed to exactly one worker, with its new try created in state running. */
export interface ClaimedTry {
  /** Isolation level decided when the instance was queued. */
  isolation: BackendName;
  dagId: string;
  runId: string;
  taskId: string;
  /** -1 unmapped. */
  mapIndex: number;
  tryNumber: number;
  pool: string;
  queue: string;
}

export interface ClaimRequest {
  workerId: string;
  hostname: string;
  queues: string[];
  limit: number;
  logPathOf: (c: { dagId: string; runId: string; taskId: string; mapIndex: number; tryNumber: number }) => string;
}

export interface TryOutcome {
  state: TryState;
  /** State the task instance moves to (success, failed, skipped, up_for_retry). */
  taskState: TaskState;
  exitCode: number | null;
  error: ProtocolError | null;
  /** XCom JSON text (already serialised), stored when the try succeeded. */
  xcomJson?: string | null;
  notBefore?: string | null;
  /**
   * The last piece of the try's shipped log, stored in the same transaction as its end (whether or not the try
   * still ended: the log is the worker's account of what happened), so that one write records both.
   */
  logTail?: ShippedLogPiece | null;
}

/** A piece of a try's shipped log: its text, the byte offset it starts at, and when its parts were written. */
export interface ShippedLogPiece {
  offset: number;
  text: string;
  times: ShippedTimeMark[];
}

export interface TryKeyRef {
  runId: string;
  taskId: string;
  /** A mapped instance's index; absent or -1 for an unmapped task. */
  mapIndex?: number;
  tryNumber: number;
}

/** One try to end: its outcome, and the fence its writer holds (none: an unconditional writer such as the orphan sweep). */
export interface TryFinish {
  key: TryKeyRef;
  outcome: TryOutcome;
  fence?: TryFence;
}

/** One task instance of a run: a task id, and a map index for a mapped instance (absent or -1 otherwise). */
export interface InstanceRef {
  taskId: string;
  mapIndex?: number;
}

/** The store. All methods are async; implementations must be safe for several processes at once. */
export interface Store {
  readonly dialect: "sqlite" | "postgres";
  /** Applies pending migrations (safe when two processes start at once). */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // DAGs
  /** Records a parsed DAG and its version; a new DAG starts paused per its `pausedOnCreation`, else `pausedByDefault`. */
  upsertDag(input: { fileloc: string; serialized: SerializedDag; versionHash: string; bundlePath: string; pausedByDefault?: boolean }): Promise<void>;
  /** Marks DAGs of `fileloc` that are not in `dagIds` inactive. */
  deactivateMissingDags(fileloc: string, dagIds: string[]): Promise<void>;
  /** Marks DAGs whose file is not in `filelocs` inactive and drops those files' import errors. */
  deactivateMissingFiles(filelocs: string[]): Promise<void>;
  getDag(dagId: string): Promise<DagRecord | undefined>;
  listDags(query?: ListDagsQuery): Promise<{ dags: DagRecord[]; total: number }>;
  /** Pauses or unpauses; `reason` says why Airlock paused it (null when a person did; cleared on unpause). */
  setPaused(dagId: string, paused: boolean, reason?: string | null): Promise<boolean>;
  /** Deletes a DAG's record, versions, runs, task instances, tries and XComs; null when it is unknown. */
  deleteDag(dagId: string): Promise<{ runs: number } | null>;
  setNextLogicalDate(dagId: string, next: string | null): Promise<void>;
  getDagVersion(hash: string): Promise<DagVersion | undefined>;
  setImportError(fileloc: string, message: string): Promise<void>;
  clearImportError(fileloc: string): Promise<void>;
  listImportErrors(): Promise<ImportError[]>;

  // Runs
  /** Creates the run and its task instances atomically; false if a run with that id exists. */
  createRun(run: NewRun, fence?: LeaseFence): Promise<boolean>;
  getRun(runId: string): Promise<DagRun | undefined>;
  listRuns(query?: ListRunsQuery): Promise<{ runs: DagRun[]; total: number }>;
  /** The run with the latest logical date among scheduled/backfill runs of a DAG. */
  latestScheduledRun(dagId: string): Promise<DagRun | undefined>;
  countActiveRuns(dagId: string): Promise<number>;
  /** Conditional run transition: applies only when the run is in one of `from` (any when omitted). */
  setRunState(runId: string, state: RunState, from?: RunState[], fence?: LeaseFence): Promise<boolean>;

  // Task instances
  listTaskInstances(runId: string): Promise<TaskInstance[]>;
  /**
   * What the scheduler evaluates a run from: mapped instances it cannot act on come as counts, not rows; with
   * `taskIds` (at most MAX_VIEW_TASKS), only those tasks.
   */
  runInstancesView(runId: string, taskIds?: readonly string[]): Promise<RunInstancesView>;
  /** True while any instance of the run is not in a finished state. */
  hasUnfinishedTasks(runId: string): Promise<boolean>;
  listTaskInstancesByState(states: TaskState[], limit?: number): Promise<TaskInstance[]>;
  getTaskInstance(runId: string, taskId: string, mapIndex?: number): Promise<TaskInstance | undefined>;
  /** Conditional transition (compare-and-set on state) of one instance (map index -1 unless given): true when applied. */
  transitionTask(runId: string, taskId: string, from: TaskState[], patch: TaskPatch, mapIndex?: number): Promise<boolean>;
  /**
   * Applies many conditional transitions of one run, a few statements per thousand, in one transaction per thousand
   * items; returns those applied in item order ("task", or "task[3]" for a mapped instance). An instance named twice
   * sees its earlier item's result.
   */
  transitionTasks(runId: string, items: Array<InstanceRef & { from: TaskState[]; patch: TaskPatch }>, fence?: LeaseFence): Promise<string[]>;
  /**
   * Dynamic task mapping: replaces a task's unexpanded instance (map index -1, in state `from`) by `count` instances
   * 0..count-1 in state "none" with the same settings; with count 0 the instance is skipped instead. False when the
   * instance was not in `from` (another scheduler expanded it first).
   */
  expandTask(runId: string, taskId: string, count: number, from: TaskState[], fence?: LeaseFence): Promise<boolean>;
  /**
   * Fails an instance that cannot run (e.g. a mapped task whose upstream XCom is not a list) with a visible reason:
   * a failed try carrying `error` and a log holding its message. False when the instance was not in `from`.
   */
  failUnrunnable(runId: string, ref: InstanceRef, from: TaskState[], error: ProtocolError, fence?: LeaseFence): Promise<boolean>;
  /**
   * Undoes a task's expansion (clear): drops its mapped instances, tries, XComs and logs and puts back one
   * unexpanded instance in state "none". No-op for an unmapped task.
   */
  collapseTask(runId: string, taskId: string): Promise<void>;
  /**
   * Moves up to `limit` queued instances of the given queues to running, bumping their try number and creating
   * the try row, respecting pool slots, in one transaction of a few statements. Each instance is claimed by exactly
   * one caller.
   */
  claimQueued(request: ClaimRequest): Promise<ClaimedTry[]>;
  /**
   * Ends a running try and moves its task instance, storing its XCom; false if the try was not running, or (with a
   * fence) is no longer owned by that worker and epoch.
   */
  finishTry(key: TryKeyRef, outcome: TryOutcome, fence?: TryFence): Promise<boolean>;
  /**
   * Ends many tries in one transaction with the meaning of `finishTry` for each; returns, per item, whether its try
   * ended. A try named twice ends once (its second item is false).
   */
  finishTries(items: TryFinish[]): Promise<boolean[]>;
  /** Stores a running try's backend handle; false when the fence no longer owns it. */
  setTryHandle(key: TryKeyRef, handle: TryHandle, fence?: TryFence): Promise<boolean>;
  getTry(key: TryKeyRef): Promise<TaskTry | undefined>;
  listTries(runId: string, taskId: string, mapIndex?: number): Promise<TaskTry[]>;
  /** The tries of a run that ran in a reused runner (`reuse: true`), in one query. */
  listReusedTries(runId: string): Promise<ReusedTry[]>;
  /** Tries still running that were started on `hostname` (for adoption after a restart). */
  listRunningTries(hostname?: string): Promise<TaskTry[]>;
  /**
   * XCom of the task's latest successful try; for a mapped task the JSON list of its instances' XComs in map-index
   * order (instances without one, e.g. skipped, are left out, as in Airflow).
   */
  getXcom(runId: string, taskId: string): Promise<string | undefined>;
  /** Latest XCom of each of `taskIds` in a run, in one query (task id → JSON text); mapped tasks as in getXcom. */
  getXcoms(runId: string, taskIds: string[]): Promise<Map<string, string>>;
  /** A mapped task's XCom per instance (map index → JSON text of its latest successful try). */
  listInstanceXcoms(runId: string, taskId: string): Promise<Map<number, string>>;

  // Rescheduling sensors (see ops/reschedule.ts)
  /** Ends a running poke without consuming its try; the instance waits in up_for_reschedule until `nextPokeAt`. */
  rescheduleTry(key: TryKeyRef, nextPokeAt: string, firstPokeAt: string): Promise<boolean>;
  /** When this try of a rescheduling sensor first poked, if it was rescheduled before. */
  firstPokeOf(key: TryKeyRef): Promise<string | null>;

  // Deferred sensors (see ops/triggers.ts)
  /** Parks a running try as deferred with its trigger, owned by `owner`; false when the try was no longer running. */
  deferTry(key: TryKeyRef & { dagId: string }, spec: Record<string, unknown>, owner: string): Promise<boolean>;
  /** Takes over unowned triggers and those of workers that are no longer live; returns how many. */
  claimTriggers(owner: string): Promise<number>;
  /** Triggers `owner` evaluates. */
  ownedTriggers(owner: string): Promise<TriggerRecord[]>;
  /** Ends a deferred try with `outcome` and drops its trigger (see ops/triggers.ts for the results). */
  completeTrigger(key: TryKeyRef, owner: string, outcome: TryOutcome): Promise<"done" | "gone" | "lost">;

  // Shipped logs (a try's masked log, readable from any host; see ops/log-chunks.ts)
  /** Stores a piece of a try's log at byte `offset` (replacing anything stored from there on), with when its parts were written. */
  appendLogChunk(key: TryKeyRef, offset: number, text: string, times?: ShippedTimeMark[]): Promise<void>;
  /** Drops a try's shipped log (it is rebuilt from the start after an adoption). */
  resetLogChunks(key: TryKeyRef): Promise<void>;
  /** Reads a try's shipped log from `offset`. */
  readLogChunks(key: TryKeyRef, offset: number, maxBytes: number): Promise<ShippedLogSlice>;

  // Pools
  listPools(): Promise<Pool[]>;
  setPool(pool: Pool): Promise<void>;
  /** Deletes a pool; false when there was none. */
  deletePool(name: string): Promise<boolean>;
  /** Pools with their running and queued instances. */
  poolUsage(): Promise<PoolUsage[]>;

  // Connections and variables (secret fields are ciphertext here)
  upsertConnection(row: ConnectionRow): Promise<void>;
  getConnection(connId: string): Promise<ConnectionRow | undefined>;
  listConnections(): Promise<ConnectionRow[]>;
  deleteConnection(connId: string): Promise<boolean>;
  setVariable(row: VariableRow): Promise<void>;
  getVariable(key: string): Promise<VariableRow | undefined>;
  listVariables(): Promise<VariableRow[]>;
  deleteVariable(key: string): Promise<boolean>;

  // Change feed
  appendChange(change: Omit<ChangeEvent, "id" | "at">): Promise<void>;
  listChangesSince(id: number, limit?: number): Promise<ChangeEvent[]>;
  latestChangeId(): Promise<number>;
  /**
   * Calls `onSignal` soon after any process (this one included) commits change-feed rows: Postgres LISTEN/NOTIFY,
   * or on SQLite a wake file beside the database. A signal means "read the feed now"; it carries nothing and
   * several may coalesce. Resolves to a function that stops the subscription.
   */
  watchChanges(onSignal: () => void): Promise<() => Promise<void>>;

  // Datasets
  /** Records a published dataset version (and a "dataset" change) and returns it. */
  addDatasetVersion(v: Omit<DatasetVersion, "id" | "createdAt">): Promise<DatasetVersion>;
  /** Every dataset with its newest version, by name. */
  listDatasets(): Promise<DatasetSummary[]>;
  /** Versions of one dataset, newest first. */
  listDatasetVersions(name: string, limit?: number): Promise<DatasetVersion[]>;
  /** The newest version of `name` written by a run, if any. */
  getRunDatasetVersion(runId: string, name: string): Promise<DatasetVersion | undefined>;
  /** The newest version id of each name (absent names have none). */
  latestDatasetVersionIds(names: string[]): Promise<Map<string, number>>;
  /** The newest dataset version id a data-aware DAG has consumed; null before its first evaluation. */
  getDatasetWatermark(dagId: string): Promise<number | null>;
  /** Moves a DAG's watermark from `from` (0 also when it has none yet) to `to`; false when another process moved it first. */
  advanceDatasetWatermark(dagId: string, from: number, to: number): Promise<boolean>;

  // Coordination
  /** Takes or renews a named lease for `holder`; false when another holder has it unexpired. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  /** Records that a task instance missed its sla; true only the first time (its onSlaMiss is then due). */
  recordSlaMiss(miss: { dagId: string; runId: string; taskId: string }): Promise<boolean>;
  /** The current holder of a lease, if unexpired. */
  leaseHolder(name: string): Promise<{ holder: string; expiresAt: number } | undefined>;
  /** Takes or renews a lease; returns its fencing epoch (raised whenever the holder changes), null when held by another. */
  takeLease(name: string, holder: string, ttlMs: number): Promise<number | null>;

  // Workers
  /** Registers (or re-registers) a worker as live, heartbeating now. */
  registerWorker(worker: NewWorker): Promise<void>;
  /** Records a live worker's heartbeat; returns its state (a lost worker is not revived: it must register again). */
  heartbeatWorker(workerId: string): Promise<WorkerState | undefined>;
  /** Marks a worker stopped (it left its tries to be adopted). */
  stopWorker(workerId: string): Promise<void>;
  listWorkers(): Promise<WorkerRecord[]>;
  /**
   * Declares lost every live worker silent for longer than `timeoutMs`, and those of `ids` at once (their process
   * is known dead); returns the workers it declared lost. Forgets ended workers without running tries after a day.
   */
  declareLostWorkers(timeoutMs: number, ids?: string[]): Promise<WorkerRecord[]>;
  /** Takes a running try over from its lost owner: applies once, for one caller, only while `from` still owns it. */
  adoptTry(key: TryKeyRef, from: TryFence, to: { workerId: string; hostname: string }): Promise<TryFence | null>;

  // Routes
  /** Creates or replaces the route of a DAG or task. */
  setRoute(route: Omit<Route, "updatedAt">): Promise<Route>;
  deleteRoute(target: string): Promise<boolean>;
  listRoutes(): Promise<Route[]>;

  // Audit log (store/ops/audit.ts)
  /** Appends who changed what; returns the event with its id and time. */
  recordAudit(event: NewAuditEvent): Promise<AuditEvent>;
  /** Audit events, newest first, filtered, with the number of all that match. */
  listAudit(query?: ListAuditQuery): Promise<{ events: AuditEvent[]; total: number }>;
}
