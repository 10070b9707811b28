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
import { MAX_VIEW_TASKS } from "../store/ops/run-view.js";
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
  /**
   * Tasks whose tries just ended: only they and the tasks after them are evaluated, from their rows alone, and the
   * whole run only once nothing in it is left unfinished. Without it (or when the tasks concerned are too many, or
   * the DAG has SLAs) the whole run is read and evaluated.
   */
  changed?: readonly string[];
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
  let scope = o.changed ? partialScope(dag, o.changed) : null;
  const read = async () => {
    for (;;) {
      const view = groupView(await ctx.store.runInstancesView(run.runId, scope ? [...readSet(dag, scope)] : undefined), run);
      if (!scope) return view;
      // A task of the scope that has ended already (a branch skipped it before its end was reported) lets the tasks
      // after it move too: they join the scope, and are read.
      const before = scope.size;
      for (const id of [...scope]) {
        const s = view.summary.get(id)?.state;
        if (s && FINISHED_TASK_STATES.includes(s)) for (const d of dag.tasks[id]?.downstream ?? []) scope.add(d);
      }
      if (scope.size === before) return view;
      if (readSet(dag, scope).size > MAX_VIEW_TASKS) scope = null;
    }
  };
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
      if (!task || (scope && !scope.has(id))) continue;
      const instances = grouped.byTask.get(id) ?? [];
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
        // What follows a task that ended here is evaluated too (a skip or an empty task's success flows downstream):
        // the next read brings it into the scope.
        const outside = scope;
        if (outside && FINISHED_TASK_STATES.includes(state(id)) && task.downstream.some((d) => !outside.has(d))) reread = true;
      }
    }
    if (batch.length > 0) {
      const applied = await ctx.store.transitionTasks(run.runId, batch, o.fence);
      // Someone else moved a task meanwhile: re-read rather than trust our local view.
      if (applied.length !== batch.length) reread = true;
    }
    if (reread) grouped = await read();
  }
  if (scope) {
    // Only the tasks concerned were read: whether the run has ended is asked of the store, and the (rare) end is
    // evaluated from the whole run.
    if (await ctx.store.hasUnfinishedTasks(run.runId)) return result;
    const whole = await evaluateRun(ctx, run, dag, { ...o, changed: undefined });
    return { ...whole, queued: whole.queued + result.queued, nextRetryAt: minOf(whole.nextRetryAt, result.nextRetryAt) };
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

/**
 * The tasks an evaluation after `changed` ended looks at: those and the tasks right after them. Null (evaluate the
 * whole run) when the DAG has SLAs (checked on every evaluation) or too many tasks would be read.
 */
function partialScope(dag: SerializedDag, changed: readonly string[]): Set<string> | null {
  if (hasSlas(dag)) return null;
  const scope = new Set<string>();
  for (const id of changed) {
    const task = dag.tasks[id];
    if (!task) return null;
    scope.add(id);
    for (const d of task.downstream) scope.add(d);
  }
  return readSet(dag, scope).size > MAX_VIEW_TASKS ? null : scope;
}

/** DAG versions (kept parsed by the store) with a task SLA, so that a 10,000-task DAG is not searched per try. */
const withSlas = new WeakMap<SerializedDag, boolean>();

function hasSlas(dag: SerializedDag): boolean {
  let has = withSlas.get(dag);
  if (has === undefined) withSlas.set(dag, (has = dag.order.some((id) => dag.tasks[id]?.slaMs !== undefined)));
  return has;
}

/** The tasks whose state deciding `scope` needs: scope itself, their upstream tasks and a teardown's setups. */
function readSet(dag: SerializedDag, scope: ReadonlySet<string>): Set<string> {
  const out = new Set(scope);
  for (const id of scope) {
    const task = dag.tasks[id];
    for (const u of task?.upstream ?? []) out.add(u);
    for (const s of task?.setups ?? []) out.add(s);
  }
  return out;
}

function minOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
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
