/**
 * Routing is data: a task's queue is resolved when it is queued — its task route, else its DAG's route, else its
 * own `queue` — and re-resolved while it waits, so route changes take effect at once. A route's fallback queues
 * are used once its queue has had no live worker for executor.fallbackAfterMs.
 */
import type { AirlockContext } from "../core/context.js";
import type { Route, TaskInstance, WorkerRecord } from "../store/types.js";

/** Who serves which queue. */
export interface QueueService {
  /** A live worker serves it now. */
  live: boolean;
  /** Last heartbeat of any worker that served it (ms), 0 when none ever did. */
  lastServedAt: number;
}

/** A snapshot of the routing map and queue service, taken once per scheduling pass. */
export interface Routing {
  routes: Map<string, Route>;
  queues: Map<string, QueueService>;
  fallbackAfterMs: number;
  now: number;
}

/** The target naming a DAG or one of its tasks: "<dag>" or "<dag>.<task>". */
export function routeTarget(dagId: string, taskId: string | null): string {
  return taskId === null ? dagId : `${dagId}.${taskId}`;
}

/** Which queues live workers serve, from the worker registry. */
export function queueService(workers: WorkerRecord[], workerTimeoutMs: number, now = Date.now()): Map<string, QueueService> {
  const out = new Map<string, QueueService>();
  for (const w of workers) {
    const beat = Date.parse(w.heartbeatAt);
    const live = w.state === "live" && now - beat <= workerTimeoutMs;
    for (const q of w.queues) {
      const prev = out.get(q) ?? { live: false, lastServedAt: 0 };
      out.set(q, { live: prev.live || live, lastServedAt: Math.max(prev.lastServedAt, beat) });
    }
  }
  return out;
}

/** Loads routes and queue service from the store. */
export async function loadRouting(ctx: AirlockContext): Promise<Routing> {
  const [routes, workers] = await Promise.all([ctx.store.listRoutes(), ctx.store.listWorkers()]);
  const now = Date.now();
  return {
    routes: new Map(routes.map((r) => [r.target, r])),
    queues: queueService(workers, ctx.config.executor.workerTimeoutMs, now),
    fallbackAfterMs: ctx.config.executor.fallbackAfterMs,
    now,
  };
}

/** The route that applies to a task: its own, else its DAG's. */
export function routeFor(routing: Routing, dagId: string, taskId: string): Route | undefined {
  return routing.routes.get(routeTarget(dagId, taskId)) ?? routing.routes.get(routeTarget(dagId, null));
}

const served = (routing: Routing, queue: string): boolean => routing.queues.get(queue)?.live ?? false;

/** The queue a task goes to now. */
export function resolveQueue(routing: Routing, dagId: string, taskId: string, ownQueue: string): string {
  const route = routeFor(routing, dagId, taskId);
  if (!route) return ownQueue;
  if (served(routing, route.queue) || route.fallbacks.length === 0) return route.queue;
  // Unserved since its last worker's last heartbeat, or since the route was set when none ever served it.
  const since = Math.max(routing.queues.get(route.queue)?.lastServedAt ?? 0, Date.parse(route.updatedAt));
  if (routing.now - since < routing.fallbackAfterMs) return route.queue;
  return route.fallbacks.find((q) => served(routing, q)) ?? route.queue;
}

/** Why a queued task is not being claimed, when the reason is that no live worker serves its queue. */
export function waitReason(routing: Routing, ti: Pick<TaskInstance, "state" | "queue" | "dagId" | "taskId">): string | null {
  if (ti.state !== "queued" || served(routing, ti.queue)) return null;
  const route = routeFor(routing, ti.dagId, ti.taskId);
  const fallback = route && route.fallbacks.length > 0
    ? `; it moves to a live one of ${route.fallbacks.map((q) => `"${q}"`).join(", ")} after ${Math.round(routing.fallbackAfterMs / 1000)} s without one`
    : "";
  return `no live worker serves queue "${ti.queue}"${fallback}; start one (airlock worker --queue ${ti.queue}) or route the task elsewhere (airlock routes set)`;
}
