import type { Duration } from "./duration.js";
import type { Callbacks } from "./notify.js";

/** When a task may run, given the states of its direct upstream tasks (Airflow's trigger rules). */
/** How a task's effective priority weight is computed (Airflow's weight rules). */
export type WeightRule = "downstream" | "upstream" | "absolute";
export const WEIGHT_RULES: readonly WeightRule[] = ["downstream", "upstream", "absolute"];

export type TriggerRule =
  | "all_success" | "all_failed" | "all_done" | "one_success" | "one_failed"
  | "none_failed" | "none_skipped" | "always";

export const TRIGGER_RULES: readonly TriggerRule[] = [
  "all_success", "all_failed", "all_done", "one_success", "one_failed", "none_failed", "none_skipped", "always",
];

/** Where a try runs; recorded on every try as its isolation level. */
export type BackendName = "inline" | "process" | "sandbox" | "docker" | "kubernetes";
export const BACKEND_NAMES: readonly BackendName[] = ["inline", "process", "sandbox", "docker", "kubernetes"];

/** Resource limits for a sealed task. */
export interface Resources {
  /** Memory limit such as "256Mi", "1Gi" or bytes. */
  memory?: string | number;
  /** CPU share in cores, e.g. 0.5 or 2. */
  cpu?: number;
  /** Maximum number of processes/threads. */
  pids?: number;
  /** Scratch disk the task may fill, such as "512Mi" or "4Gi" (default 1Gi): its scratch directory and /tmp. */
  scratch?: string | number;
  /** Resource profile of config `kubernetes.profiles` (a `resources:<name>` tag sets it); its limits apply on every backend. */
  profile?: string;
}

/** What a task may read of the orchestrator's connections and variables. */
export interface Grants {
  connections?: string[];
  variables?: string[];
}

/** Options every operator accepts. */
export interface TaskOptions {
  /** Task id, unique in its DAG: letters, digits, `_`, `-`, `.`. */
  id: string;
  /** Retries after the first try. @default 0 */
  retries?: number;
  /** Wait before a retry. @default "5m" in Airflow; here "30s" */
  retryDelay?: Duration;
  /** Double the delay on each retry. @default false */
  retryExponentialBackoff?: boolean;
  /** Upper bound of the retry delay. */
  maxRetryDelay?: Duration;
  /** A try running longer is killed (its whole process tree) and fails. */
  executionTimeout?: Duration;
  /** @default "all_success" */
  triggerRule?: TriggerRule;
  /** Pool whose slots bound concurrency. @default "default" */
  pool?: string;
  /** Queue a worker must serve to run the task. @default "default" */
  queue?: string;
  /** Sealed environment (environments/<name>/). */
  environment?: string;
  /** Backend for this task; overrides DAG and project defaults. */
  backend?: BackendName;
  /** Resource limits. */
  resources?: Resources;
  /** Network for sealed backends. @default "none" */
  network?: "none" | "host";
  /**
   * Run this task's tries in a long-lived runner process that also runs other tries of the same environment
   * (process backend), instead of a fresh process each: much faster, but those tries share module state, memory
   * and process environment. Only for trusted code; overrides the environment's `reuse`. @default false
   */
  reuse?: boolean;
  /** Connections and variables the task may read. */
  grants?: Grants;
  /** Free-form documentation shown in the UI. */
  doc?: string;
  /** Claim priority among a DAG's queued tasks (Airflow's priority_weight), an integer. @default 1 */
  priorityWeight?: number;
  /**
   * How the effective weight is computed (Airflow's weight_rule): "downstream" adds the weights of every task
   * after this one (so work that unblocks more goes first), "upstream" of every task before it, "absolute" none.
   * @default "downstream"
   */
  weightRule?: WeightRule;
  /** A setup task: teardowns downstream of it run once the work between is done, whatever happened to it. @default false */
  setup?: boolean;
  /** A teardown task: runs when the work after its setups is done, if one of its setups succeeded; its failure does not fail the run. @default false */
  teardown?: boolean;
  /** For a teardown: its failure fails the run after all. @default false */
  onFailureFailDagrun?: boolean;
  /** Run only when this task succeeded (or was skipped) in the DAG's previous run, by logical date. @default false */
  dependsOnPast?: boolean;
  /** Called after the task succeeded: a notifier or a function run sealed. */
  onSuccess?: Callbacks;
  /** Called after the task failed for good (no retry left). */
  onFailure?: Callbacks;
  /** Called after a try failed and the task will be retried. */
  onRetry?: Callbacks;
  /** The task should have succeeded this long after its run started; later, onSlaMiss is called (once). */
  sla?: Duration;
  /** Called when the task missed its sla (it goes on running). */
  onSlaMiss?: Callbacks;
  /** Instances of this task (mapped instances included) running at once across all runs of its DAG. @default no bound */
  maxActiveTisPerDag?: number;
}

/** Task options a DAG may default for all its tasks. */
export type DefaultArgs = Omit<Partial<TaskOptions>, "id">;

/** A connection as a task sees it. */
export interface Connection {
  id: string;
  type?: string;
  host?: string;
  port?: number;
  login?: string;
  password?: string;
  schema?: string;
  extra?: Record<string, unknown>;
}

/** The data interval a run covers; its logical date is `start`. */
export interface DataInterval {
  start: string;
  end: string;
}

/** Logger a task writes to; lines go to the try's log. */
export interface TaskLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** The context `fn` and `branch` callables receive. */
export interface TaskContext<P extends Record<string, unknown> = Record<string, any>> {
  dagId: string;
  taskId: string;
  runId: string;
  tryNumber: number;
  /** DAG params after run conf overrides. */
  params: P;
  /** The run's conf as given at trigger time. */
  conf: Record<string, unknown>;
  /** Start of the data interval, ISO 8601. */
  logicalDate: string;
  /** Logical date as YYYY-MM-DD in the DAG's time zone. */
  ds: string;
  dataInterval: DataInterval;
  xcom: { pull<T = unknown>(taskId: string): T };
  variables: { get(name: string): string };
  connections: { get(id: string): Connection };
  log: TaskLogger;
  /** A directory the task may write to; removed after the try. */
  scratchDir: string;
  /** A mapped instance's element of the list it is mapped over (undefined for unmapped tasks). */
  item?: any;
  /** A mapped instance's position in that list; -1 for unmapped tasks. */
  mapIndex: number;
}
