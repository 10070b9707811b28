/**
 * Run-level controls of a DAG (Airflow's): `dagrunTimeout` fails a run that goes on too long, a task's
 * `dependsOnPast` waits for its own outcome in the previous run, and `maxConsecutiveFailedRuns` pauses a DAG that
 * keeps failing, saying why. Test runs (`dags test`) neither count nor wait.
 */
import { taskStateIn } from "./mapping.js";
import type { AirlockContext } from "../core/context.js";
import { markRunState } from "../core/actions.js";
import type { SerializedDag } from "../sdk/serialized.js";
import type { DagRun, TaskState } from "../store/types.js";

const PAGE = 200;

/** Fails the run when it has been running longer than its DAG's dagrunTimeout; true when it did. */
export async function enforceRunTimeout(ctx: AirlockContext, run: DagRun, dag: SerializedDag): Promise<boolean> {
  if (dag.dagrunTimeoutMs === undefined || !run.startDate) return false;
  if (Date.now() - Date.parse(run.startDate) <= dag.dagrunTimeoutMs) return false;
  // Running tries are stopped by their supervisors once their instance is no longer running.
  await markRunState(ctx, run.runId, "failed");
  process.stderr.write(`airlock scheduler: run ${run.runId} of DAG "${run.dagId}" exceeded its dagrunTimeout of ${dag.dagrunTimeoutMs / 1000} s: failed it and stopped its unfinished tasks\n`);
  return true;
}

/** The DAG's run before `run` by logical date (test runs aside), if any. */
async function previousRun(ctx: AirlockContext, run: DagRun): Promise<DagRun | undefined> {
  for (let offset = 0; ; offset += PAGE) {
    const { runs } = await ctx.store.listRuns({ dagId: run.dagId, order: "desc", limit: PAGE, offset });
    const found = runs.find((r) => r.runType !== "test" && r.runId !== run.runId && r.logicalDate < run.logicalDate);
    if (found || runs.length < PAGE) return found;
  }
}

/** dependsOnPast: the task may run when the previous run has no such task or it succeeded or was skipped there. */
export async function pastAllows(ctx: AirlockContext, run: DagRun, taskId: string): Promise<boolean> {
  if (run.runType === "test") return true;
  const previous = await previousRun(ctx, run);
  if (!previous) return true;
  const state = await taskStateIn(ctx, previous.runId, taskId);
  const allowed: TaskState[] = ["success", "skipped"];
  return !state || allowed.includes(state);
}

/** After a run failed: pauses its DAG when its last maxConsecutiveFailedRuns finished runs all failed. */
export async function pauseAfterFailures(ctx: AirlockContext, run: DagRun, dag: SerializedDag): Promise<void> {
  const limit = dag.maxConsecutiveFailedRuns;
  if (limit === undefined || run.runType === "test") return;
  const latest: DagRun[] = [];
  for (let offset = 0; latest.length < limit; offset += PAGE) {
    const { runs } = await ctx.store.listRuns({ dagId: run.dagId, states: ["success", "failed"], order: "desc", limit: PAGE, offset });
    latest.push(...runs.filter((r) => r.runType !== "test"));
    if (runs.length < PAGE) break;
  }
  const window = latest.slice(0, limit);
  if (window.length < limit || window.some((r) => r.state !== "failed")) return;
  const current = await ctx.store.getDag(run.dagId);
  if (!current || current.isPaused) return;
  const reason = `paused after ${limit} failed run${limit === 1 ? "" : "s"} in a row (maxConsecutiveFailedRuns), the latest ${window[0]?.runId}; fix the cause, then unpause it`;
  await ctx.store.setPaused(run.dagId, true, reason);
  process.stderr.write(`airlock scheduler: DAG "${run.dagId}" ${reason}\n`);
}
