/** Workers (read) and routes (read, set, remove). */
import { listWorkerViews, removeRoute, setRoute } from "../../fleet/actions.js";
import { defineRoute, type AnyRoute } from "../route.js";
import { Deleted, RouteInput, RouteList, RouteParams, RouteView, WorkerList } from "../schemas.js";

/** The fleet routes. */
export const fleetRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/workers", operationId: "listWorkers", tag: "Workers", role: "read",
    summary: "Registered workers (live, lost, stopped) with host, queues, backends, last heartbeat and running tries",
    response: WorkerList,
    async handler({ services: { ctx } }) {
      const workers = await listWorkerViews(ctx);
      return { workers: workers.map((w) => ({
        workerId: w.workerId, hostname: w.hostname, state: w.state, queues: w.queues, backends: w.backends, version: w.version,
        pid: w.pid, startedAt: w.startedAt, heartbeatAt: w.heartbeatAt, silentForMs: w.silentForMs, runningTries: w.runningTries,
      })) };
    },
  }),
  defineRoute({
    method: "GET", path: "/routes", operationId: "listRoutes", tag: "Routes", role: "read",
    summary: "The routing map: DAG or task → queue, fallbacks, who set it and when", response: RouteList,
    async handler({ services: { ctx } }) {
      return { routes: await ctx.store.listRoutes() };
    },
  }),
  defineRoute({
    method: "PUT", path: "/routes/{target}", operationId: "setRoute", tag: "Routes", role: "admin", errors: [404],
    summary: "Route a DAG (<dag>) or one task (<dag>.<task>) to a queue, with fallbacks; takes effect at once",
    params: RouteParams, body: RouteInput, response: RouteView,
    async handler({ params, body, principal, request, services: { ctx } }) {
      const who = `api (${principal.authenticated ? `${principal.role} token` : "no auth"}) from ${request.ip}`;
      return setRoute(ctx, params.target, body.queue, body.fallbacks ?? [], who);
    },
  }),
  defineRoute({
    method: "DELETE", path: "/routes/{target}", operationId: "deleteRoute", tag: "Routes", role: "admin", errors: [404],
    summary: "Remove a route (waiting tasks go back to their own queue)", params: RouteParams, response: Deleted,
    async handler({ params, services: { ctx } }) {
      await removeRoute(ctx, params.target);
      return { deleted: true };
    },
  }),
];
