/** Which DAG-level callbacks a run that just ended calls, and in the context of which task and try. */
import type { AirlockContext } from "../core/context.js";
import type { CallbackRequest } from "../executor/callbacks.js";
import type { SerializedDag } from "../sdk/serialized.js";
import type { DagRun } from "../store/types.js";

/**
 * The request for a DAG's onSuccess / onFailure after `run` ended, or null when the DAG has none. A failed run's
 * callbacks get the context (and error) of its first failed task; a successful run's, its last task that ran.
 */
export async function dagCallbackRequest(ctx: AirlockContext, run: DagRun, dag: SerializedDag, ended: "success" | "failed"): Promise<CallbackRequest | null> {
  const event = ended === "success" ? "onSuccess" : "onFailure";
  if (!dag.callbacks?.[event]?.length) return null;
  const version = await ctx.store.getDagVersion(run.versionHash);
  if (!version) return null;
  const order = new Map(dag.order.map((id, i) => [id, i]));
  const tis = (await ctx.store.listTaskInstances(run.runId)).sort((a, b) => (order.get(a.taskId) ?? 0) - (order.get(b.taskId) ?? 0));
  const ran = tis.filter((t) => t.tryNumber > 0);
  const chosen = (ended === "failed" ? ran.find((t) => t.state === "failed") : undefined) ?? ran[ran.length - 1] ?? tis[tis.length - 1];
  const task = chosen ? dag.tasks[chosen.taskId] : undefined;
  if (!chosen || !task) return null;
  const error = ended === "failed" && chosen.tryNumber > 0 ? (await ctx.store.getTry({ runId: run.runId, taskId: chosen.taskId, tryNumber: chosen.tryNumber }))?.error ?? null : null;
  return {
    scope: "dag", event, run, dag, bundlePath: version.bundlePath, task, tryNumber: chosen.tryNumber, isolation: chosen.isolation,
    error: error ? { type: error.type, message: error.message } : ended === "failed" ? { type: "RunFailed", message: `run ${run.runId} failed` } : null,
  };
}
