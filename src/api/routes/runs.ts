/** DAG run routes: list, trigger, get, mark success/failed, clear. */
import { ConflictError, NotFoundError } from "../../core/errors.js";
import type { Store } from "../../store/store.js";
import type { DagRun } from "../../store/types.js";
import { defineRoute, type AnyRoute } from "../route.js";
import { Cleared, ClearRunBody, DagParams, RunList, RunListQuery, RunParams, RunPatch, RunView, TriggerBody } from "../schemas.js";
import { runView } from "../views.js";
import { requireDag } from "./dags.js";

/** Loads a run of a DAG or throws a 404 (a run of another DAG is not found either). */
export async function requireRun(store: Store, dagId: string, runId: string): Promise<DagRun> {
  const r = await store.getRun(runId);
  if (!r || r.dagId !== dagId) throw new NotFoundError("Run", runId, `List the runs of "${dagId}" with GET /api/v1/dags/${dagId}/runs`);
  return r;
}

/** The run routes. */
export const runRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/dags/{dagId}/runs", operationId: "listRuns", tag: "Runs", role: "read", errors: [404],
    summary: "Runs of a DAG, newest first, filtered by state and run type",
    params: DagParams, query: RunListQuery, response: RunList,
    async handler({ params, query, services: { ctx } }) {
      await requireDag(ctx.store, params.dagId);
      const { runs, total } = await ctx.store.listRuns({
        dagId: params.dagId, limit: query.limit, offset: query.offset, order: query.order,
        states: query.state, runType: query.runType,
      });
      return { runs: runs.map(runView), total };
    },
  }),
  defineRoute({
    method: "POST", path: "/dags/{dagId}/runs", operationId: "triggerRun", tag: "Runs", role: "admin", status: 201,
    errors: [404, 409],
    summary: "Trigger a run; conf is validated against the DAG's params schema",
    params: DagParams, body: TriggerBody, response: RunView,
    async handler({ params, body, services: { ctx, core, hub } }) {
      await requireDag(ctx.store, params.dagId);
      if (body.runId && (await ctx.store.getRun(body.runId))) {
        throw new ConflictError(`A run with id "${body.runId}" already exists`, "Choose another runId, or leave it out to get a generated one");
      }
      const run = await core.triggerDagRun(params.dagId, { conf: body.conf, logicalDate: body.logicalDate, runId: body.runId });
      void hub.poll();
      return runView(run);
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/runs/{runId}", operationId: "getRun", tag: "Runs", role: "read", errors: [404],
    summary: "A run", params: RunParams, response: RunView,
    async handler({ params, services: { ctx } }) {
      return runView(await requireRun(ctx.store, params.dagId, params.runId));
    },
  }),
  defineRoute({
    method: "PATCH", path: "/dags/{dagId}/runs/{runId}", operationId: "markRun", tag: "Runs", role: "admin", errors: [404, 409],
    summary: "Mark a run success or failed", params: RunParams, body: RunPatch, response: RunView,
    async handler({ params, body, services: { ctx, core, hub } }) {
      await requireRun(ctx.store, params.dagId, params.runId);
      const run = await core.markRunState(params.runId, body.state);
      void hub.poll();
      return runView(run);
    },
  }),
  defineRoute({
    method: "POST", path: "/dags/{dagId}/runs/{runId}/clear", operationId: "clearRun", tag: "Runs", role: "admin", errors: [404, 409],
    summary: "Clear task instances of a run so they run again (all, the failed ones, or the ones named)",
    params: RunParams, body: ClearRunBody, response: Cleared,
    async handler({ params, body, services: { ctx, core, hub } }) {
      await requireRun(ctx.store, params.dagId, params.runId);
      const instances = await ctx.store.listTaskInstances(params.runId);
      const known = new Set(instances.map((t) => t.taskId));
      for (const id of body.taskIds ?? []) {
        if (!known.has(id)) throw new NotFoundError("Task", id, `Use a task id of run "${params.runId}"`);
      }
      let ids = body.taskIds ?? instances.map((t) => t.taskId);
      if (body.onlyFailed) {
        const failed = new Set(instances.filter((t) => t.state === "failed" || t.state === "upstream_failed").map((t) => t.taskId));
        ids = ids.filter((id) => failed.has(id));
      }
      const cleared = ids.length === 0 ? [] : await core.clearTaskInstances(params.runId, ids, { downstream: body.downstream });
      void hub.poll();
      return { cleared };
    },
  }),
];
