/**
 * `triggerDag`: creates a run of another DAG (Airflow's TriggerDagRunOperator). The orchestrator does it on the
 * task's behalf — no task process, and nothing more is granted to anyone — and may wait for that run's outcome.
 */
import type { Task } from "./dag.js";
import { ID_PATTERN } from "./dag.js";
import { parseDuration, type Duration } from "./duration.js";
import { DagDefinitionError } from "./errors.js";
import { define } from "./operators.js";
import type { TaskOptions } from "./types.js";

/** Options of `triggerDag`. */
export interface TriggerDagOptions extends TaskOptions {
  /** The DAG to run. */
  dagId: string;
  /** The new run's conf (templated: `{{ ds }}`, `{{ params.x }}`, `{{ ti.xcom_pull("t") }}`); checked against its params. @default {} */
  conf?: Record<string, unknown>;
  /** Wait until the triggered run ends; its failure fails this task. @default false */
  wait?: boolean;
  /** How often to look at the triggered run while waiting. @default "5s" */
  pokeInterval?: Duration;
}

/** Triggers a run of another DAG; the XCom is `{ dagId, runId, state }` of that run. */
export function triggerDag(options: TriggerDagOptions): Task {
  const o = options as unknown as Record<string, unknown>;
  const where = `triggerDag("${String(o.id)}")`;
  if (typeof o.dagId !== "string" || !ID_PATTERN.test(o.dagId)) throw new DagDefinitionError(`${where}: "dagId" is required: the id of the DAG to run`, "dagId");
  if (o.conf !== undefined && (typeof o.conf !== "object" || o.conf === null || Array.isArray(o.conf))) throw new DagDefinitionError(`${where}: conf must be an object, e.g. { day: "{{ ds }}" }`, "conf");
  if (o.wait !== undefined && typeof o.wait !== "boolean") throw new DagDefinitionError(`${where}: wait must be true or false`, "wait");
  if (o.pokeInterval !== undefined) parseDuration(o.pokeInterval as Duration, `${where}: pokeInterval`);
  return define("trigger_dag", "triggerDag", o, ["dagId", "conf", "wait", "pokeInterval"], ["conf"]);
}
