/**
 * Dynamic task mapping on the scheduler's side: a mapped task whose trigger rule says "run" is expanded into one
 * instance per element of its upstream task's XCom list; for trigger rules, run outcome and display, its
 * instances count as one task whose state sums theirs up (as Airflow's mapped task does).
 */
import type { AirlockContext } from "../core/context.js";
import type { SerializedTask } from "../sdk/serialized.js";
import type { LeaseFence } from "../store/store.js";
import { FINISHED_TASK_STATES, type RunInstancesView, type TaskInstance, type TaskState } from "../store/types.js";

/** While instances are unfinished, the most active state among them stands for the task. */
const ACTIVE_ORDER: TaskState[] = ["running", "deferred", "queued", "up_for_retry", "up_for_reschedule", "scheduled", "none"];

/** The state a mapped task's instances add up to (Airflow's: failed if one failed, skipped if all skipped). */
export function aggregateState(instances: TaskInstance[]): TaskState {
  if (instances.length === 0) return "none";
  if (instances.length === 1) return (instances[0] as TaskInstance).state;
  return aggregateStates(new Set(instances.map((t) => t.state)));
}

/** The state a set of instance states adds up to (see `aggregateState`). */
export function aggregateStates(states: ReadonlySet<TaskState>): TaskState {
  if (states.size === 0) return "none";
  for (const s of ACTIVE_ORDER) if (states.has(s) && !FINISHED_TASK_STATES.includes(s)) return s;
  if (states.has("failed")) return "failed";
  if (states.has("upstream_failed")) return "upstream_failed";
  if (states.size === 1 && states.has("skipped")) return "skipped";
  return "success";
}

/** Instances of a run grouped by task id (map-index order), and one summary instance per task. */
export function groupInstances(all: TaskInstance[]): { byTask: Map<string, TaskInstance[]>; summary: Map<string, TaskInstance> } {
  const byTask = new Map<string, TaskInstance[]>();
  for (const t of all) {
    const list = byTask.get(t.taskId);
    if (list) list.push(t);
    else byTask.set(t.taskId, [t]);
  }
  const summary = new Map<string, TaskInstance>();
  for (const [id, list] of byTask) {
    list.sort((a, b) => a.mapIndex - b.mapIndex);
    const first = list[0] as TaskInstance;
    if (list.length === 1) {
      summary.set(id, first);
      continue;
    }
    const ends = list.map((t) => t.endDate).filter((d): d is string => d !== null).sort();
    summary.set(id, { ...first, state: aggregateState(list), endDate: ends.at(-1) ?? null, tryNumber: Math.max(...list.map((t) => t.tryNumber)) });
  }
  return { byTask, summary };
}

/** A run as the evaluation sees it: rows it may act on, every task's states counted, one summary per task. */
export interface EvaluationGroups {
  /** Rows by task: every instance of an unmapped task; a mapped task's instances in states the evaluation moves. */
  byTask: Map<string, TaskInstance[]>;
  /** How many instances of each task are in each state (rows and counted ones together). */
  counts: Map<string, Map<TaskState, number>>;
  /** Mapped instances waiting in a queue, counted: task -> queue -> number. */
  queued: Map<string, Map<string, number>>;
  summary: Map<string, TaskInstance>;
}

/** Groups a run's evaluation view (see `Store.runInstancesView`) by task. */
export function groupView(view: RunInstancesView, run: { dagId: string; runId: string }): EvaluationGroups {
  const byTask = new Map<string, TaskInstance[]>();
  const counts = new Map<string, Map<TaskState, number>>();
  const queued = new Map<string, Map<string, number>>();
  const extra = new Map<string, { endDate: string | null; tryNumber: number; queue: string }>();
  const count = (taskId: string, state: TaskState, n: number) => {
    const c = counts.get(taskId) ?? new Map<TaskState, number>();
    c.set(state, (c.get(state) ?? 0) + n);
    counts.set(taskId, c);
  };
  for (const t of view.instances) {
    const list = byTask.get(t.taskId);
    if (list) list.push(t);
    else byTask.set(t.taskId, [t]);
    count(t.taskId, t.state, 1);
  }
  for (const g of view.counted) {
    count(g.taskId, g.state, g.count);
    if (g.state === "queued") queued.set(g.taskId, (queued.get(g.taskId) ?? new Map<string, number>()).set(g.queue, g.count));
    const e = extra.get(g.taskId);
    extra.set(g.taskId, {
      endDate: [e?.endDate ?? null, g.endDate].filter((d): d is string => d !== null).sort().at(-1) ?? null,
      tryNumber: Math.max(e?.tryNumber ?? 0, g.tryNumber), queue: e?.queue ?? g.queue,
    });
  }
  const summary = new Map<string, TaskInstance>();
  for (const [id, c] of counts) {
    const list = (byTask.get(id) ?? []).sort((a, b) => a.mapIndex - b.mapIndex);
    const e = extra.get(id);
    if (!e && list.length === 1) {
      summary.set(id, list[0] as TaskInstance);
      continue;
    }
    const first = list[0] ?? {
      dagId: run.dagId, runId: run.runId, taskId: id, mapIndex: 0, state: "none", tryNumber: 0, maxTries: 1, pool: "default",
      queue: e?.queue ?? "default", isolation: null, notBefore: null, startDate: null, endDate: null, updatedAt: "",
    };
    const ends = [...list.map((t) => t.endDate), e?.endDate ?? null].filter((d): d is string => d !== null).sort();
    const tries = Math.max(e?.tryNumber ?? 0, ...list.map((t) => t.tryNumber));
    summary.set(id, { ...first, state: statesOf(c, aggregateStates), endDate: ends.at(-1) ?? null, tryNumber: tries });
  }
  return { byTask, counts, queued, summary };
}

/** Applies `f` to the states with at least one instance. */
export function statesOf<T>(c: Map<TaskState, number>, f: (states: Set<TaskState>) => T): T {
  return f(new Set([...c].filter(([, n]) => n > 0).map(([s]) => s)));
}

/** Why a mapped task cannot be expanded. */
export class MappingError extends Error {
  override name = "MappingError";
}

/**
 * Expands `task` (its unexpanded instance is in state `from`) over its upstream list: one instance per element,
 * skipped for an empty list, failed with a MappingError (visible as its try's error and log) for anything else.
 * Returns what happened, or null when another scheduler got there first.
 */
export async function expandMapped(ctx: AirlockContext, runId: string, task: SerializedTask, from: TaskState, fence?: LeaseFence): Promise<"expanded" | "skipped" | "failed" | null> {
  const upstream = task.mapOver as string;
  const json = await ctx.store.getXcom(runId, upstream);
  let list: unknown = undefined;
  try {
    list = json === undefined ? undefined : JSON.parse(json);
  } catch {
    list = json;
  }
  if (!Array.isArray(list)) {
    const what = list === undefined ? "no XCom (it returned nothing, or did not succeed)" : `${list === null ? "null" : typeof list} ${preview(list)}`;
    const error = new MappingError(`task "${task.id}" is mapped over the XCom of "${upstream}", which is ${what}, not a list: make "${upstream}" return an array, one element per instance of "${task.id}"`);
    const ok = await ctx.store.failUnrunnable(runId, { taskId: task.id }, [from], { type: error.name, message: error.message }, fence);
    return ok ? "failed" : null;
  }
  const ok = await ctx.store.expandTask(runId, task.id, list.length, [from], fence);
  return ok ? (list.length === 0 ? "skipped" : "expanded") : null;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return `(${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}

/** The state of a task in a run, a mapped task's instances summed up; undefined when the run has no such task. */
export async function taskStateIn(ctx: AirlockContext, runId: string, taskId: string): Promise<TaskState | undefined> {
  const single = await ctx.store.getTaskInstance(runId, taskId);
  if (single) return single.state;
  const instances = (await ctx.store.listTaskInstances(runId)).filter((t) => t.taskId === taskId);
  return instances.length > 0 ? aggregateState(instances) : undefined;
}
