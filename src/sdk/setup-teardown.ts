/**
 * Setup and teardown tasks (Airflow's meaning): a teardown runs once the work between it and its setups is done,
 * whatever happened to that work, provided one of its setups succeeded; its failure does not fail the run unless
 * it sets `onFailureFailDagrun`. A teardown's setups are the setup tasks upstream of it.
 */
import type { Dag, Task } from "./dag.js";
import { DagDefinitionError } from "./errors.js";

/** Setup tasks upstream of `task`, transitively, sorted. */
export function setupsOf(d: Dag, task: Task): string[] {
  const out = new Set<string>();
  const seen = new Set<string>();
  const stack = [...task.upstream];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const t = d.tasks.get(id);
    if (!t) continue;
    if (t.options.setup) out.add(id);
    stack.push(...t.upstream);
  }
  return [...out].sort();
}

/** Rejects setup/teardown options that cannot mean anything; called once the DAG is built. */
export function checkSetupTeardown(d: Dag): void {
  for (const t of d.tasks.values()) {
    const o = t.options;
    const where = `task "${t.id}" in DAG "${d.id}"`;
    for (const key of ["setup", "teardown", "onFailureFailDagrun"] as const) {
      if (o[key] !== undefined && typeof o[key] !== "boolean") throw new DagDefinitionError(`${where}: ${key} must be true or false`, key);
    }
    if (o.setup && o.teardown) throw new DagDefinitionError(`${where} is both a setup and a teardown: make it one of them`, "teardown");
    if (o.onFailureFailDagrun && !o.teardown) throw new DagDefinitionError(`${where}: onFailureFailDagrun only applies to teardown tasks; add teardown: true or remove it`, "onFailureFailDagrun");
    if (o.teardown && setupsOf(d, t).length === 0) {
      throw new DagDefinitionError(`${where} is a teardown without a setup task upstream: make a setup task (setup: true) run before it, e.g. chain(create, work, ${t.id})`, "teardown");
    }
  }
}

/** The stored setup/teardown fields of a task; empty for ordinary tasks so their DAG's version hash stays put. */
export function serializedRole(d: Dag, t: Task): { setup?: true; teardown?: true; setups?: string[]; onFailureFailDagrun?: true } {
  if (t.options.setup) return { setup: true };
  if (!t.options.teardown) return {};
  return { teardown: true, setups: setupsOf(d, t), ...(t.options.onFailureFailDagrun ? { onFailureFailDagrun: true as const } : {}) };
}
