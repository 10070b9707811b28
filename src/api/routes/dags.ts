/** DAG routes: list, detail, pause, tags, import errors and the runs × tasks grid. */
import { groupInstances } from "../../scheduler/mapping.js";
import { z } from "zod";
import { NotFoundError } from "../../core/errors.js";
import type { AirlockContext } from "../../core/context.js";
import { pendingRunCount } from "../../scheduler/timetable.js";
import type { DagRecord } from "../../store/types.js";
import type { Store } from "../../store/store.js";
import { defineRoute, type AnyRoute } from "../route.js";
import {
  DagDetail, DagList, DagListQuery, DagParams, DagPatch, Grid, GridQuery, ImportErrorList, TagList,
} from "../schemas.js";
import { dagDetail, dagSummary, runBrief } from "../views.js";

/** Loads a DAG or throws a 404 that says where to look. */
export async function requireDag(store: Store, dagId: string): Promise<DagRecord> {
  const d = await store.getDag(dagId);
  if (!d) throw new NotFoundError("DAG", dagId, "List DAGs with GET /api/v1/dags; a DAG appears once its file parses");
  return d;
}

async function recentRuns(store: Store, dagId: string, limit: number) {
  if (limit === 0) return [];
  return (await store.listRuns({ dagId, limit, order: "desc" })).runs;
}

/** A warning for a paused DAG whose unpause would create more catch-up runs than the configured threshold. */
async function catchupWarning(ctx: AirlockContext, d: DagRecord): Promise<string | null> {
  const s = d.serialized;
  if (!d.isPaused || !s.catchup || s.schedule === null) return null;
  const limit = ctx.config.scheduler.catchupConfirmAbove;
  const latest = await ctx.store.latestScheduledRun(d.dagId);
  const n = pendingRunCount(s, latest?.logicalDate ?? null, new Date(), limit + 1);
  return n > limit ? `Unpausing creates more than ${limit} catch-up runs at once (catchup since ${s.startDate}). Consider catchup: false or a smaller backfill.` : null;
}

/** The DAG routes. */
export const dagRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/dags", operationId: "listDags", tag: "DAGs", role: "read",
    summary: "List DAGs with filters (tags, paused, search) and paging, each with its recent runs",
    query: DagListQuery, response: DagList,
    async handler({ query, services: { ctx } }) {
      const { dags, total } = await ctx.store.listDags({
        limit: query.limit, offset: query.offset, tags: query.tags, paused: query.paused, search: query.search,
        includeInactive: query.includeInactive,
      });
      const runs = await Promise.all(dags.map((d) => recentRuns(ctx.store, d.dagId, query.recentRuns)));
      return { dags: dags.map((d, i) => dagSummary(d, runs[i] ?? [])), total };
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}", operationId: "getDag", tag: "DAGs", role: "read", errors: [404],
    summary: "A DAG with its tasks (graph), params and params schema",
    params: DagParams, response: DagDetail,
    async handler({ params, services: { ctx } }) {
      const d = await requireDag(ctx.store, params.dagId);
      return dagDetail(d, await recentRuns(ctx.store, d.dagId, 10), await catchupWarning(ctx, d));
    },
  }),
  defineRoute({
    method: "PATCH", path: "/dags/{dagId}", operationId: "patchDag", tag: "DAGs", role: "admin", errors: [404],
    summary: "Pause or unpause a DAG",
    params: DagParams, body: DagPatch, response: DagDetail,
    async handler({ params, body, services: { ctx, core, hub } }) {
      await requireDag(ctx.store, params.dagId);
      await core.setDagPaused(params.dagId, body.isPaused);
      void hub.poll();
      const d = await requireDag(ctx.store, params.dagId);
      return dagDetail(d, await recentRuns(ctx.store, d.dagId, 10), await catchupWarning(ctx, d));
    },
  }),
  defineRoute({
    method: "GET", path: "/dagTags", operationId: "listDagTags", tag: "DAGs", role: "read",
    summary: "Every tag used by an active DAG, sorted",
    response: TagList,
    async handler({ services: { ctx } }) {
      const tags = new Set<string>();
      for (let offset = 0; ; offset += 1000) {
        const { dags } = await ctx.store.listDags({ limit: 1000, offset });
        for (const d of dags) for (const t of d.serialized.tags) tags.add(t);
        if (dags.length < 1000) break;
      }
      return { tags: [...tags].sort() };
    },
  }),
  defineRoute({
    method: "GET", path: "/importErrors", operationId: "listImportErrors", tag: "DAGs", role: "read",
    summary: "DAG files that failed to parse, with the error",
    response: ImportErrorList,
    async handler({ services: { ctx } }) {
      return { importErrors: await ctx.store.listImportErrors() };
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/grid", operationId: "getDagGrid", tag: "DAGs", role: "read", errors: [404],
    summary: "The last N runs × task instance states, in one request (the UI's grid)",
    params: DagParams, query: GridQuery, response: Grid,
    async handler({ params, query, services: { ctx } }) {
      const d = await requireDag(ctx.store, params.dagId);
      const { runs } = await ctx.store.listRuns({ dagId: d.dagId, limit: query.limit, order: "desc" });
      const instances = await Promise.all(runs.map((r) => ctx.store.listTaskInstances(r.runId)));
      const s = d.serialized;
      const taskIds = [...s.order];
      const known = new Set(taskIds);
      const columns = runs.map((r, i) => {
        const cells: Record<string, z.infer<typeof Grid>["runs"][number]["cells"][string]> = {};
        const { byTask, summary } = groupInstances(instances[i] ?? []);
        for (const ti of summary.values()) {
          const list = byTask.get(ti.taskId) ?? [];
          const mapped = list.some((x) => x.mapIndex >= 0) ? countStates(list) : undefined;
          cells[ti.taskId] = { state: ti.state, tryNumber: ti.tryNumber, ...(mapped ? { mapped } : {}) };
          // Tasks removed from the DAG since still show for the runs that had them.
          if (!known.has(ti.taskId)) {
            known.add(ti.taskId);
            taskIds.push(ti.taskId);
          }
        }
        return { ...runBrief(r), cells };
      });
      return {
        dagId: d.dagId,
        tasks: taskIds.map((id) => ({ taskId: id, upstream: s.tasks[id]?.upstream ?? [] })),
        runs: columns.reverse(),
      };
    },
  }),
];

/** A mapped task's instances counted by state. */
function countStates(list: Array<{ state: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of list) out[t.state] = (out[t.state] ?? 0) + 1;
  return out;
}
