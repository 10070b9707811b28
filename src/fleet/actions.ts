/** What users do to the fleet (CLI and API share these): list workers with their running tries, set and remove routes. */
import type { AirlockContext } from "../core/context.js";
import { NotFoundError, ValidationError } from "../core/errors.js";
import type { Route, WorkerRecord } from "../store/types.js";
import { routeTarget } from "./routing.js";

/** Queue names: what `--queue` and routes accept. */
export const QUEUE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$/;

/** A worker with the tries it runs now. */
export interface WorkerView extends WorkerRecord {
  /** Milliseconds since its last heartbeat. */
  silentForMs: number;
  runningTries: Array<{ dagId: string; runId: string; taskId: string; tryNumber: number }>;
}

/** Every registered worker (live, then lost and stopped) with its running tries. */
export async function listWorkerViews(ctx: AirlockContext): Promise<WorkerView[]> {
  const [workers, tries] = await Promise.all([ctx.store.listWorkers(), ctx.store.listRunningTries()]);
  const now = Date.now();
  return workers.map((w) => ({
    ...w,
    silentForMs: Math.max(0, now - Date.parse(w.heartbeatAt)),
    runningTries: tries.filter((t) => t.workerId === w.workerId).map((t) => ({ dagId: t.dagId, runId: t.runId, taskId: t.taskId, tryNumber: t.tryNumber })),
  }));
}

function checkQueue(field: string, queue: unknown): string {
  if (typeof queue !== "string" || !QUEUE_NAME.test(queue)) {
    throw new ValidationError(field, `${JSON.stringify(queue)} is not a queue name`, "Use letters, digits and _ . : - (at most 200), e.g. server-a");
  }
  return queue;
}

/** Splits "<dag>" or "<dag>.<task>" against the known DAGs (DAG and task ids may themselves hold dots). */
export async function parseRouteTarget(ctx: AirlockContext, target: string): Promise<{ dagId: string; taskId: string | null }> {
  if (typeof target !== "string" || target.length === 0 || target.length > 500) {
    throw new ValidationError("target", "must be <dag> or <dag>.<task>", "e.g. etl or etl.load");
  }
  if (await ctx.store.getDag(target)) return { dagId: target, taskId: null };
  for (let i = target.indexOf("."); i > 0; i = target.indexOf(".", i + 1)) {
    const dag = await ctx.store.getDag(target.slice(0, i));
    const taskId = target.slice(i + 1);
    if (dag?.serialized.tasks[taskId]) return { dagId: dag.dagId, taskId };
  }
  throw new NotFoundError("DAG or task", target, "Name a DAG (airlock dags list) or one of its tasks as <dag>.<task> (airlock dags show <dag>)");
}

/** Creates or replaces the route of a DAG or task; takes effect at the scheduler's next pass. */
export async function setRoute(ctx: AirlockContext, target: string, queue: unknown, fallbacks: unknown, who: string): Promise<Route> {
  const { dagId, taskId } = await parseRouteTarget(ctx, target);
  const q = checkQueue("queue", queue);
  const list = fallbacks === undefined ? [] : fallbacks;
  if (!Array.isArray(list)) throw new ValidationError("fallback", "must be a list of queue names", "e.g. --fallback server-b --fallback server-c");
  const fb = list.map((f, i) => checkQueue(`fallback[${i}]`, f));
  if (fb.includes(q) || new Set(fb).size !== fb.length) {
    throw new ValidationError("fallback", "repeats a queue", "List each fallback queue once, and not the route's own queue");
  }
  return ctx.store.setRoute({ target: routeTarget(dagId, taskId), dagId, taskId, queue: q, fallbacks: fb, updatedBy: who });
}

/** Removes a route; tasks still waiting go back to their own queue. */
export async function removeRoute(ctx: AirlockContext, target: string): Promise<void> {
  if (!(await ctx.store.deleteRoute(target))) throw new NotFoundError("Route", target, "List routes with `airlock routes list`");
}
