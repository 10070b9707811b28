/**
 * Task SLAs (Airflow's `sla`): a task that has not succeeded `sla` after its run started has missed it. Each miss is
 * recorded once in the store (whichever scheduler sees it first) and calls the task's onSlaMiss; the task goes on.
 */
import type { AirlockContext } from "../core/context.js";
import type { CallbackRequest } from "../executor/callbacks.js";
import type { SerializedDag } from "../sdk/serialized.js";
import type { DagRun, TaskInstance } from "../store/types.js";

/** Misses this process already recorded, so a late task is not written again on every evaluation. */
const recorded = new Set<string>();

/** Records the new sla misses of `run` and returns the onSlaMiss callbacks they call. */
export async function slaMisses(ctx: AirlockContext, run: DagRun, dag: SerializedDag, tis: Map<string, TaskInstance>): Promise<CallbackRequest[]> {
  if (!run.startDate) return [];
  const started = Date.parse(run.startDate);
  const now = Date.now();
  const out: CallbackRequest[] = [];
  let bundlePath: string | null = null;
  for (const id of dag.order) {
    const task = dag.tasks[id];
    const ti = tis.get(id);
    if (task?.slaMs === undefined || !ti) continue;
    const deadline = started + task.slaMs;
    if (now <= deadline) continue;
    const inTime = (ti.state === "success" || ti.state === "skipped") && ti.endDate !== null && Date.parse(ti.endDate) <= deadline;
    const key = `${run.runId}\n${id}`;
    if (inTime || recorded.has(key)) continue;
    recorded.add(key);
    if (!(await ctx.store.recordSlaMiss({ dagId: run.dagId, runId: run.runId, taskId: id }))) continue;
    process.stderr.write(`airlock scheduler: task ${id} of run ${run.runId} missed its sla of ${task.slaMs / 1000} s (it is ${ti.state})\n`);
    if (!task.callbacks?.onSlaMiss?.length) continue;
    bundlePath ??= (await ctx.store.getDagVersion(run.versionHash))?.bundlePath ?? null;
    if (!bundlePath) continue;
    out.push({ scope: "task", event: "onSlaMiss", run, dag, bundlePath, task, tryNumber: ti.tryNumber, isolation: ti.isolation, error: null });
  }
  return out;
}
