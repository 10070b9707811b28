/** What users do to DAGs and runs (CLI and API share these): trigger, clear, mark, pause. */
import type { SerializedDag } from "../sdk/serialized.js";
import type { DagRun, TaskState } from "../store/types.js";
import { FINISHED_TASK_STATES } from "../store/types.js";
import type { AirlockContext } from "./context.js";
import { ConflictError, NotFoundError, ValidationError } from "./errors.js";
import { resolveParams } from "./params.js";
import { effectiveWeights } from "../scheduler/priority.js";
import { withSetupsAndTeardowns } from "../scheduler/setup-teardown.js";

/** What a run id given for a new run may look like. */
export const RUN_ID = /^[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,249}$/;

/** Context that may also wake the scheduler of this process. */
export type ActionContext = AirlockContext & { wake?: () => void };

async function requireDag(ctx: AirlockContext, dagId: string) {
  const dag = await ctx.store.getDag(dagId);
  if (!dag || !dag.isActive) throw new NotFoundError("DAG", dagId, "List DAGs with `airlock dags list`; check the import errors it shows");
  return dag;
}

async function requireRun(ctx: AirlockContext, runId: string): Promise<DagRun> {
  const run = await ctx.store.getRun(runId);
  if (!run) throw new NotFoundError("Run", runId, "List runs with `airlock runs list <dag>`");
  return run;
}

/**
 * The id of a run the orchestrator creates. Run ids are unique across DAGs in the store, so unlike Airflow's
 * (unique per DAG) they name the DAG: two DAGs on one schedule would otherwise both want "scheduled__<date>".
 */
export function runIdFor(runType: "scheduled" | "manual" | "backfill", dagId: string, logicalDate: string): string {
  return `${runType}__${dagId}__${logicalDate}`;
}

/** Task-instance rows for a new run of `dag`, with their effective priority weights. */
export function runTasks(dag: SerializedDag): Array<{ taskId: string; maxTries: number; pool: string; queue: string; priorityWeight: number; maxActiveTis: number | null }> {
  const weights = effectiveWeights(dag);
  return dag.order.map((id) => {
    const t = dag.tasks[id];
    return {
      taskId: id, maxTries: (t?.retries ?? 0) + 1, pool: t?.pool ?? "default", queue: t?.queue ?? "default", priorityWeight: weights.get(id) ?? 1,
      maxActiveTis: t?.maxActiveTisPerDag ?? null,
    };
  });
}

/** Creates a manual run with conf (validated against params); the scheduler starts it. */
export async function triggerDagRun(ctx: ActionContext, dagId: string, options: { conf?: unknown; logicalDate?: string; runId?: string } = {}): Promise<DagRun> {
  const dag = await requireDag(ctx, dagId);
  const params = resolveParams(dag.serialized, options.conf);
  let logical = new Date();
  if (options.logicalDate !== undefined) {
    logical = new Date(options.logicalDate);
    if (typeof options.logicalDate !== "string" || Number.isNaN(logical.getTime())) {
      throw new ValidationError("logicalDate", `${JSON.stringify(options.logicalDate)} is not a date`, "Use ISO 8601, e.g. 2026-01-01T00:00:00Z");
    }
  }
  const iso = logical.toISOString();
  const runId = options.runId ?? runIdFor("manual", dagId, iso);
  if (typeof runId !== "string" || !RUN_ID.test(runId)) {
    throw new ValidationError("runId", `${JSON.stringify(runId)} is not a valid run id`, "Use letters, digits and _ . : + - (at most 250)");
  }
  const created = await ctx.store.createRun({
    runId, dagId, runType: "manual", logicalDate: iso, dataIntervalStart: iso, dataIntervalEnd: iso,
    conf: (options.conf ?? {}) as Record<string, unknown>, params, versionHash: dag.versionHash, tasks: runTasks(dag.serialized),
    maxActiveTasks: dag.serialized.maxActiveTasks ?? null,
  });
  if (!created) throw new ConflictError(`A run with id "${runId}" already exists`, "Choose another run id, or leave it out to get a generated one");
  ctx.wake?.();
  return (await ctx.store.getRun(runId)) as DagRun;
}

/** Which task instances a clear selects. */
export interface ClearOptions {
  /** Also every task downstream of the selected ones (Airflow's default in its UI). */
  downstream?: boolean;
  /** Also every task upstream of the selected ones. */
  upstream?: boolean;
  /** Only instances that failed (failed or upstream_failed) among the selection. */
  onlyFailed?: boolean;
  /** Only this instance of the (one) selected mapped task; its downstream/upstream are selected whole. */
  mapIndex?: number;
}

/** A planned clear: the instances it resets, with their current state; nothing is changed. */
export interface ClearPlan {
  runId: string;
  /** Instances to reset; `mapIndex` is -1 for unmapped tasks (and for a mapped task not expanded yet). */
  tasks: Array<{ taskId: string; mapIndex: number; state: TaskState }>;
}

/** How a cleared or marked instance is named: "task", or "task[3]" for a mapped instance. */
export const instanceName = (taskId: string, mapIndex: number): string => (mapIndex >= 0 ? `${taskId}[${mapIndex}]` : taskId);

/** Resolves what a clear of `taskIds` (all tasks when empty) would reset, refusing while any of it runs. */
export async function planClear(ctx: AirlockContext, runId: string, taskIds: string[], options: ClearOptions = {}): Promise<ClearPlan> {
  const run = await requireRun(ctx, runId);
  const version = await ctx.store.getDagVersion(run.versionHash);
  if (!version) throw new NotFoundError("DAG version", run.versionHash, "The run's DAG version is gone; trigger a new run");
  const dag = version.serialized;
  if (!Array.isArray(taskIds)) throw new ValidationError("taskIds", "must be an array of task ids", "Pass the ids of tasks in this run");
  const selected = new Set<string>();
  const walk = (id: string, direction: "downstream" | "upstream") => {
    for (const next of dag.tasks[id]?.[direction] ?? []) {
      if (selected.has(next)) continue;
      selected.add(next);
      walk(next, direction);
    }
  };
  for (const id of taskIds.length > 0 ? taskIds : dag.order) {
    if (typeof id !== "string" || !dag.tasks[id]) throw new NotFoundError("Task", String(id), `Tasks of DAG "${dag.id}": ${dag.order.slice(0, 20).join(", ")}`);
    selected.add(id);
  }
  for (const id of [...selected]) {
    if (options.downstream) walk(id, "downstream");
    if (options.upstream) walk(id, "upstream");
  }
  const only = options.mapIndex ?? -1;
  if (only >= 0 && taskIds.length !== 1) throw new ValidationError("mapIndex", "selects an instance of one mapped task", "Name exactly one task with the map index");
  const all = await ctx.store.listTaskInstances(runId);
  const byTask = new Map<string, typeof all>();
  for (const t of all) {
    const list = byTask.get(t.taskId);
    if (list) list.push(t);
    else byTask.set(t.taskId, [t]);
  }
  const failedOnly = (list: typeof all) => list.filter((t) => !options.onlyFailed || ["failed", "upstream_failed"].includes(t.state));
  const work = dag.order.filter((id) => selected.has(id) && failedOnly(byTask.get(id) ?? []).length > 0);
  // Work runs again only between its setup and teardown (Airflow's meaning); their own downstream stays as it is.
  const withSetups = withSetupsAndTeardowns(dag, work);
  const picked = dag.order.filter((id) => withSetups.has(id) && byTask.has(id)).flatMap((id) => {
    const list = byTask.get(id) ?? [];
    if (only >= 0 && id === taskIds[0]) {
      const one = list.filter((t) => t.mapIndex === only);
      if (one.length === 0) throw new NotFoundError("Task instance", instanceName(id, only), `"${id}" has ${list.filter((t) => t.mapIndex >= 0).length} mapped instances (0-based)`);
      return one;
    }
    return work.includes(id) ? failedOnly(list) : list;
  });
  const running = picked.filter((t) => t.state === "running" || t.state === "queued");
  if (running.length > 0) {
    throw new ConflictError(`Task(s) ${[...new Set(running.map((t) => instanceName(t.taskId, t.mapIndex)))].slice(0, 10).join(", ")} are queued or running`, "Wait until they finish, or mark them failed first, then clear");
  }
  return { runId, tasks: picked.map((t) => ({ taskId: t.taskId, mapIndex: t.mapIndex, state: t.state })) };
}

/**
 * Resets task instances (and optionally their downstream/upstream) so they run again; returns the cleared ones
 * ("task", or "task[3]" for a mapped instance). A mapped task cleared together with the task it maps over is
 * expanded again from that task's new list (its instances' history goes); otherwise its instances run again as they are.
 */
export async function clearTaskInstances(ctx: ActionContext, runId: string, taskIds: string[], options: ClearOptions = {}): Promise<string[]> {
  const plan = await planClear(ctx, runId, taskIds, options);
  const run = await requireRun(ctx, runId);
  const dag = (await ctx.store.getDagVersion(run.versionHash))?.serialized;
  const clearedIds = new Set(plan.tasks.map((t) => t.taskId));
  const cleared: string[] = [];
  const collapsed = new Set<string>();
  for (const { taskId, mapIndex, state } of plan.tasks) {
    const mapOver = dag?.tasks[taskId]?.mapOver;
    if (mapOver && clearedIds.has(mapOver) && (options.mapIndex ?? -1) < 0) {
      if (!collapsed.has(taskId)) {
        collapsed.add(taskId);
        await ctx.store.collapseTask(runId, taskId);
        cleared.push(taskId);
      }
      continue;
    }
    const ti = await ctx.store.getTaskInstance(runId, taskId, mapIndex);
    if (!ti) continue;
    const retries = dag?.tasks[taskId]?.retries ?? 0;
    const ok = await ctx.store.transitionTask(runId, taskId, [state], {
      state: "none", notBefore: null, startDate: null, endDate: null, maxTries: ti.tryNumber + retries + 1,
    }, mapIndex);
    if (ok) cleared.push(instanceName(taskId, mapIndex));
  }
  if (cleared.length > 0) await ctx.store.setRunState(runId, "queued");
  ctx.wake?.();
  return cleared;
}

/** Marks a run success or failed; its unfinished tasks follow (success, or failed/skipped). */
export async function markRunState(ctx: ActionContext, runId: string, state: "success" | "failed"): Promise<DagRun> {
  if (state !== "success" && state !== "failed") throw new ValidationError("state", `"${String(state)}" cannot be set on a run`, 'Use "success" or "failed"');
  const run = await requireRun(ctx, runId);
  for (const ti of await ctx.store.listTaskInstances(runId)) {
    if (FINISHED_TASK_STATES.includes(ti.state)) continue;
    const to: TaskState = state === "success" ? "success" : ti.state === "running" || ti.state === "queued" ? "failed" : "skipped";
    await ctx.store.transitionTask(runId, ti.taskId, [ti.state], { state: to, endDate: new Date().toISOString() }, ti.mapIndex);
  }
  await ctx.store.setRunState(run.runId, state);
  ctx.wake?.();
  return (await ctx.store.getRun(runId)) as DagRun;
}

/**
 * Sets a task instance's state by hand (success, failed or skipped), and optionally everything downstream; returns
 * those set. A mapped task is marked whole (every instance) unless `mapIndex` names one instance.
 */
export async function markTaskState(ctx: ActionContext, runId: string, taskId: string, state: TaskState, options: { downstream?: boolean; mapIndex?: number } = {}): Promise<string[]> {
  if (!["success", "failed", "skipped"].includes(state)) throw new ValidationError("state", `"${String(state)}" cannot be set by hand`, 'Use "success", "failed" or "skipped"');
  const run = await requireRun(ctx, runId);
  const all = await ctx.store.listTaskInstances(runId);
  const only = options.mapIndex ?? -1;
  const instancesOf = (id: string) => all.filter((t) => t.taskId === id && (id !== taskId || only < 0 || t.mapIndex === only));
  if (instancesOf(taskId).length === 0) throw new NotFoundError("Task", instanceName(taskId, only), `Show the run's tasks with \`airlock tasks states ${run.dagId} ${runId}\``);
  const ids = [taskId];
  if (options.downstream) {
    const dag = (await ctx.store.getDagVersion(run.versionHash))?.serialized;
    for (let i = 0; i < ids.length; i++) for (const d of dag?.tasks[ids[i] as string]?.downstream ?? []) if (!ids.includes(d)) ids.push(d);
  }
  const marked: string[] = [];
  for (const id of ids) {
    for (const current of instancesOf(id)) {
      if (await ctx.store.transitionTask(runId, id, [current.state], { state, endDate: new Date().toISOString() }, current.mapIndex)) marked.push(instanceName(id, current.mapIndex));
    }
  }
  await ctx.store.setRunState(runId, "running", ["success", "failed"]);
  ctx.wake?.();
  return marked;
}

/** Pauses or unpauses a DAG: a paused DAG gets no new scheduled runs and starts no new tasks. */
export async function setDagPaused(ctx: ActionContext, dagId: string, paused: boolean): Promise<void> {
  if (typeof paused !== "boolean") throw new ValidationError("paused", "must be true or false", 'Send {"paused": true} or {"paused": false}');
  if (!(await ctx.store.setPaused(dagId, paused))) throw new NotFoundError("DAG", dagId, "List DAGs with `airlock dags list`");
  ctx.wake?.();
}
