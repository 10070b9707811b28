/**
 * What setup and teardown tasks change in a run (Airflow's meaning): when a teardown may run, which tasks decide
 * the run's state, and which tasks a clear brings along.
 */
import type { SerializedDag, SerializedTask } from "../sdk/serialized.js";
import { FINISHED_TASK_STATES, type TaskState } from "../store/types.js";
import type { RuleDecision } from "./trigger-rules.js";

/**
 * A teardown waits until its upstream tasks are done, whatever their outcome, then runs if one of its setups
 * succeeded; if none did there is nothing to tear down and it is skipped. Its own trigger rule is not used.
 */
export function teardownDecision(task: SerializedTask, state: (id: string) => TaskState): RuleDecision {
  if (!task.upstream.every((u) => FINISHED_TASK_STATES.includes(state(u)))) return "wait";
  return (task.setups ?? []).some((s) => state(s) === "success") ? "run" : "skip";
}

/**
 * The run's state once every task has ended. As in Airflow the leaves decide, but teardowns are left out (a work
 * task followed only by teardowns counts as a leaf), except a teardown that asked to fail the run.
 */
export function runOutcome(dag: SerializedDag, state: (id: string) => TaskState): "success" | "failed" {
  const bad = (id: string) => state(id) === "failed" || state(id) === "upstream_failed";
  for (const id of dag.order) {
    const t = dag.tasks[id];
    if (!t) continue;
    if (t.teardown) {
      if (t.onFailureFailDagrun && bad(id)) return "failed";
      continue;
    }
    const isLeaf = t.downstream.every((d) => dag.tasks[d]?.teardown === true);
    if (isLeaf && bad(id)) return "failed";
  }
  return "success";
}

/**
 * `ids` plus the setups upstream of each cleared work task and the teardowns of every setup in the result:
 * clearing work must set up again before it runs and tear down again after.
 */
export function withSetupsAndTeardowns(dag: SerializedDag, ids: Iterable<string>): Set<string> {
  const out = new Set(ids);
  const seen = new Set<string>();
  const stack = [...out].filter((id) => !dag.tasks[id]?.setup && !dag.tasks[id]?.teardown).flatMap((id) => dag.tasks[id]?.upstream ?? []);
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    if (dag.tasks[id]?.setup) out.add(id);
    stack.push(...(dag.tasks[id]?.upstream ?? []));
  }
  for (const id of dag.order) {
    const t = dag.tasks[id];
    if (t?.teardown && (t.setups ?? []).some((s) => out.has(s))) out.add(id);
  }
  return out;
}
