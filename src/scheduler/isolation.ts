/** Which backend a task runs on: command override > task (or DAG default args) > project default. */
import type { AirlockConfig } from "../config/config.js";
import type { SerializedTask } from "../sdk/serialized.js";
import type { BackendName } from "../sdk/types.js";

/** The isolation level recorded for a task's next try. */
export function isolationFor(task: SerializedTask, config: AirlockConfig, override: BackendName | null): BackendName {
  if (task.kind === "external_task_sensor") return "inline";
  if (task.kind === "container") return override === "kubernetes" ? "kubernetes" : "docker";
  if (task.kind === "kubernetes_pod") return "kubernetes";
  const chosen = override ?? task.backend ?? config.defaultBackend;
  // Python code cannot share the orchestrator's (Node) process: the nearest level is a process of its own.
  if (task.kind === "python" && chosen === "inline") return "process";
  // `inline` shares the orchestrator's process: only `dags test` may ask for it.
  return chosen === "inline" && override !== "inline" ? "process" : chosen;
}
