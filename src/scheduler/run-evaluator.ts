/**
 * Evaluates one running DAG run: applies trigger rules to waiting tasks, queues the ready ones (or completes
 * `empty` tasks at once), re-queues retries whose delay has passed, and ends the run when every task has ended.
 */
import type { SerializedDag } from "../sdk/serialized.js";
import type { AirlockContext } from "../core/context.js";
import type { BackendName } from "../sdk/types.js";
import type { LeaseFence, TaskPatch } from "../store/store.js";
import { resolveQueue, type Routing } from "../fleet/routing.js";
import { FINISHED_TASK_STATES, type DagRun, type TaskInstance, type TaskState } from "../store/types.js";
import { isolationFor } from "./isolation.js";
import { evaluateTriggerRule } from "./trigger-rules.js";
import { runOutcome, teardownDecision } from "./setup-teardown.js";
import { enforceRunTimeout, pastAllows, pauseAfterFailures } from "./run-controls.js";
import { dagCallbackRequest } from "./callbacks.js";
import { slaMisses } from "./sla.js";
import { aggregateStates, expandMapped, groupView, statesOf } from "./mapping.js";
import type { CallbackRequest } from "../executor/callbacks.js";

/** Options of one evaluation. */
export interface EvaluateOptions {
  /** Backend override (dags test --backend). */
  backendOverride: BackendName | null;
  /** A paused DAG starts no new tasks. */
  paused: boolean;
  /** Queue to put tasks on instead of their own (dags test uses a private one). */
  queueOverride?: string;
  /** Routes to resolve queues with (re-resolved for tasks still queued); none: each task's own queue. */
  routing?: Routing;
  /** The scheduler lease every write is made under; refused once another scheduler leads. */
  fence?: LeaseFence;
}

/** What an evaluation did. */
export interface EvaluateResult {
  queued: number;
  /** Earliest time a retry (or a rescheduled sensor's next poke) becomes due, if any waits. */
  nextRetryAt: number | null;
  ended: "success" | "failed" | null;
  /** Callbacks due now: the DAG's onSuccess / onFailure when the run ended, tasks' onSlaMiss (the caller runs them). */
  callbacks: CallbackRequest[];
}

/** Evaluates the run once; call again when any of its tasks changes. */
export async function evaluateRun(ctx: AirlockContext, run: DagRun, dag: SerializedDag, o: EvaluateOptions): Promise<EvaluateResult> {
  const result: EvaluateResult = { queued: 0, nextRetryAt: null, ended: null, callbacks: [] };
  if (await enforceRunTimeout(ctx, run, dag)) {
    await pauseAfterFailures(ctx, run, dag);
    const request = await dagCallbackRequest(ctx, run, dag, "failed");
    return { ...result, ended: "failed", callbacks: request ? [request] : [] };
  }
  const read = async () => groupView(await ctx.store.runInstancesView(run.runId), run);
  let grouped = await read();
  const now = Date.now();
  const state = (id: string): TaskState => grouped.summary.get(id)?.state ?? "none";
  // Walk in topological order so decisions made now (skips, upstream_failed, empties) flow downstream at once.
  for (let changed = true; changed; ) {
    changed = false;
    let reread = false;
    const batch: Array<{ taskId: string; mapIndex: number; from: TaskState[]; patch: TaskPatch }> = [];
    for (const id of dag.order) {
      const task = dag.tasks[id];
      const instances = grouped.byTask.get(id) ?? [];
      if (!task) continue;
      let taskChanged = false;
      if (o.routing && !o.queueOverride && grouped.queued.has(id)) {
        // Mapped instances waiting in a queue are counted, not read: read them only when the route moved.
        const queue = resolveQueue(o.routing, run.dagId, id, task.queue);
        if ([...(grouped.queued.get(id) as Map<string, number>).keys()].some((q) => q !== queue)) {
          for (const ti of await ctx.store.listTaskInstances(run.runId)) {
            if (ti.taskId === id && ti.mapIndex >= 0 && ti.state === "queued" && ti.queue !== queue) batch.push({ taskId: id, mapIndex: ti.mapIndex, from: ["queued"], patch: { state: "queued", queue } });
          }
          grouped.queued.set(id, new Map([[queue, 0]]));
        }
      }
      for (const ti of instances) {
        let patch: TaskPatch | null = null;
        if (ti.state === "none" && ti.mapIndex >= 0) {
          // A mapped instance (new, or cleared on its own): its upstream already allowed the task to run.
          patch = o.paused ? { state: "scheduled" } : queuePatch(run, task, ctx, o);
        } else if (ti.state === "none") {
          const decision = task.teardown ? teardownDecision(task, state) : evaluateTriggerRule(task.triggerRule, task.upstream.map(state));
          if (decision === "skip") patch = { state: "skipped", endDate: new Date().toISOString() };
          else if (decision === "upstream_failed") patch = { state: "upstream_failed", endDate: new Date().toISOString() };
          else if (decision === "run" && task.dependsOnPast && !(await pastAllows(ctx, run, id))) {
            // Waits for its own outcome in the previous run; the sweep looks again.
          } else if (decision === "run" && task.mapOver) {
            // Expanded now that its upstream list is known; its instances are queued on the next pass.
            if (await expandMapped(ctx, run.runId, task, "none", o.fence)) changed = true;
            reread = true;
            continue;
          } else if (decision === "run") {
            patch = o.paused ? { state: "scheduled" } : queuePatch(run, task, ctx, o);
          }
        } else if (ti.state === "scheduled" && !o.paused) {
          patch = queuePatch(run, task, ctx, o);
        } else if (ti.state === "queued" && o.routing && !o.queueOverride) {
          // A waiting task follows route changes and fallbacks until a worker claims it.
          const queue = resolveQueue(o.routing, run.dagId, id, task.queue);
          if (queue !== ti.queue) patch = { state: "queued", queue };
        } else if (ti.state === "up_for_retry" || ti.state === "up_for_reschedule") {
          const due = ti.notBefore ? Date.parse(ti.notBefore) : 0;
          if (due <= now && !o.paused) patch = queuePatch(run, task, ctx, o);
          else if (due > now) result.nextRetryAt = Math.min(result.nextRetryAt ?? Infinity, due);
        }
        if (patch) {
          batch.push({ taskId: id, mapIndex: ti.mapIndex, from: [ti.state], patch });
          const c = grouped.counts.get(id) as Map<TaskState, number>;
          c.set(ti.state, (c.get(ti.state) ?? 1) - 1);
          c.set(patch.state, (c.get(patch.state) ?? 0) + 1);
          ti.state = patch.state;
          ti.queue = patch.queue ?? ti.queue;
          if (patch.state === "queued") result.queued++;
          taskChanged = true;
        }
      }
      if (taskChanged) {
        changed = true;
        const summary = grouped.summary.get(id) as TaskInstance;
        grouped.summary.set(id, { ...summary, state: statesOf(grouped.counts.get(id) as Map<TaskState, number>, aggregateStates) });
      }
    }
    if (batch.length > 0) {
      const applied = await ctx.store.transitionTasks(run.runId, batch, o.fence);
      // Someone else moved a task meanwhile: re-read rather than trust our local view.
      if (applied.length !== batch.length) reread = true;
    }
    if (reread) grouped = await read();
  }
  const tis = grouped.summary;
  result.callbacks.push(...(await slaMisses(ctx, run, dag, tis)));
  const counts = [...grouped.counts.values()].flatMap((c) => [...c].filter(([, n]) => n > 0));
  if (counts.length > 0 && counts.every(([s]) => FINISHED_TASK_STATES.includes(s))) {
    // As in Airflow, the leaves decide: a run fails when any leaf task failed or could not run (teardowns aside).
    result.ended = runOutcome(dag, state);
    const applied = await ctx.store.setRunState(run.runId, result.ended, ["running"], o.fence);
    if (applied && result.ended === "failed") await pauseAfterFailures(ctx, run, dag);
    const request = applied ? await dagCallbackRequest(ctx, run, dag, result.ended) : null;
    if (request) result.callbacks.push(request);
  }
  return result;
}

function queuePatch(run: DagRun, task: SerializedDag["tasks"][string], ctx: AirlockContext, o: EvaluateOptions): TaskPatch {
  if (task.kind === "empty") {
    const at = new Date().toISOString();
    return { state: "success", startDate: at, endDate: at };
  }
  const patch: TaskPatch = { state: "queued", isolation: isolationFor(task, ctx.config, o.backendOverride) };
  if (o.queueOverride) patch.queue = o.queueOverride;
  else if (o.routing) patch.queue = resolveQueue(o.routing, run.dagId, task.id, task.queue);
  return patch;
}
