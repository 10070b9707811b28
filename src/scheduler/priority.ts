/**
 * Effective priority weights with Airflow's meaning: "downstream" (the default) adds the own weights of every task
 * reachable downstream, so a task that unblocks more work is claimed first; "upstream" adds those of every task
 * it depends on (directly or not), which favours finishing runs already under way; "absolute" is the own weight.
 */
import type { SerializedDag } from "../sdk/serialized.js";

/** Task id → effective weight, computed once per run at its creation. */
export function effectiveWeights(dag: SerializedDag): Map<string, number> {
  const own = (id: string) => dag.tasks[id]?.priorityWeight ?? 1;
  const reach = (start: string, next: (id: string) => string[]): Set<string> => {
    const seen = new Set<string>();
    const stack = [...next(start)];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...next(id));
    }
    return seen;
  };
  const out = new Map<string, number>();
  for (const id of dag.order) {
    const task = dag.tasks[id];
    if (!task) continue;
    const rule = task.weightRule ?? "downstream";
    let weight = own(id);
    if (rule !== "absolute") {
      const related = reach(id, (x) => (rule === "downstream" ? dag.tasks[x]?.downstream : dag.tasks[x]?.upstream) ?? []);
      for (const r of related) weight += own(r);
    }
    out.set(id, weight);
  }
  return out;
}
