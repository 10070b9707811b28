/**
 * externalTaskSensor runs in the orchestrator (it reads only the store, no user code): it pokes until a task (or
 * the whole run) of another DAG reaches an allowed state for the same logical date.
 */
import { parseDuration } from "../sdk/duration.js";
import type { SerializedTask } from "../sdk/serialized.js";
import { taskStateIn } from "../scheduler/mapping.js";
import type { AirlockContext } from "../core/context.js";
import type { DagRun } from "../store/types.js";
import type { TryResult } from "./outcome.js";

/** Pokes the store; `alive()` turning false (marked/cleared) stops it. */
export async function pokeExternalTask(ctx: AirlockContext, run: DagRun, task: SerializedTask, log: (line: string) => void, alive: () => Promise<boolean>, firstPokeAt: string | null = null): Promise<TryResult> {
  const a = task.args as {
    externalDagId: string; externalTaskId?: string; allowedStates?: string[]; failedStates?: string[]; pokeInterval?: string | number;
    timeout?: string | number; softFail?: boolean; checkExistence?: boolean; executionDelta?: string | number;
  };
  const allowed = a.allowedStates ?? ["success"];
  const failed = a.failedStates ?? ["failed", "upstream_failed"];
  const interval = parseDuration(a.pokeInterval ?? "30s", "pokeInterval");
  const timeout = parseDuration(a.timeout ?? "7d", "timeout");
  // In mode "reschedule" each try pokes once, and the timeout counts from the first poke.
  const reschedule = (task.args as { mode?: string }).mode === "reschedule";
  const deadline = (firstPokeAt ? Date.parse(firstPokeAt) : Date.now()) + timeout;
  // kedro-airflow-k8s's execution_delta: look at the other DAG's run this long before our logical date.
  const logicalDate = new Date(Date.parse(run.logicalDate) - parseDuration(a.executionDelta ?? 0, "executionDelta")).toISOString();
  const target = `${a.externalDagId}${a.externalTaskId ? `.${a.externalTaskId}` : ""} at ${logicalDate}`;
  if (a.checkExistence) {
    const other = await ctx.store.getDag(a.externalDagId);
    const missing = !other || !other.isActive ? `DAG "${a.externalDagId}" does not exist`
      : a.externalTaskId && !other.serialized.tasks[a.externalTaskId] ? `DAG "${a.externalDagId}" has no task "${a.externalTaskId}"` : null;
    if (missing) return { kind: "failed", error: { type: "ExternalDagMissing", message: `${missing}: fix the external dependency (or set checkExistence: false to wait for it to appear)` } };
  }
  for (;;) {
    const { runs } = await ctx.store.listRuns({ dagId: a.externalDagId, limit: 1000 });
    const match = runs.find((r) => r.logicalDate === logicalDate);
    let state: string | null = null;
    if (match) state = a.externalTaskId ? (await taskStateIn(ctx, match.runId, a.externalTaskId)) ?? null : match.state;
    log(`poking ${target}: ${state ?? "no run yet"}`);
    if (state && allowed.includes(state)) return { kind: "success", xcomJson: JSON.stringify({ runId: match?.runId, state }), branch: null };
    if (state && failed.includes(state)) return { kind: "failed", error: { type: "ExternalTaskFailed", message: `${target} is ${state}` } };
    if (Date.now() >= deadline) {
      const message = `${target} did not reach ${allowed.join("/")} within ${Math.round(timeout / 1000)} s`;
      return a.softFail ? { kind: "skipped", reason: `${message} (soft fail)` } : { kind: "failed", error: { type: "SensorTimeout", message } };
    }
    if (reschedule) return { kind: "reschedule", reason: `${target} is ${state ?? "not there yet"}` };
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(10, deadline - Date.now()))));
    if (!(await alive())) return { kind: "failed", error: { type: "TaskKilled", message: "the sensor was marked or cleared while it waited" } };
  }
}
