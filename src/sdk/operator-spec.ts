/** Operator kinds the runner and executor know. */
export type OperatorKind = "bash" | "fn" | "branch" | "empty" | "http" | "file_sensor" | "external_task_sensor" | "container" | "node" | "python" | "kubernetes_pod" | "trigger_dag" | "callback" | "time_sensor" | "http_sensor";

/** What an operator factory records about a task: its kind, JSON arguments and templated fields. */
export interface OperatorSpec {
  kind: OperatorKind;
  /** JSON-serialisable arguments; functions are kept out of here. */
  args: Record<string, unknown>;
  /** Names of `args` rendered with Jinja syntax before the task runs. */
  templateFields: string[];
  /** The callable of `fn`, `branch` and pipeline `run` nodes; found again by the runner by re-importing the DAG file. */
  callable?: (...args: never[]) => unknown;
}
