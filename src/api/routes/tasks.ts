/** Task instance routes: list per run, get, mark, clear, tries, logs by try, XCom. */
import { NotFoundError } from "../../core/errors.js";
import { loadRouting, waitReason } from "../../fleet/routing.js";
import type { Store } from "../../store/store.js";
import type { TaskInstance } from "../../store/types.js";
import { defineRoute, type AnyRoute } from "../route.js";
import {
  Cleared, ClearTaskBody, LogChunk, LogQuery, MapIndexQuery, RunParams, TaskInstanceList, TaskInstanceView, TaskParams, TaskPatchBody,
  TryList, TryParams, XcomView,
} from "../schemas.js";
import { taskInstanceView, tryView } from "../views.js";
import { ranReused } from "../../store/ops/reused.js";
import { requireRun } from "./runs.js";

const XCOM_INLINE_LIMIT = 1024 * 1024;

/** Loads a task instance of a DAG's run or throws a 404. */
export async function requireTask(store: Store, dagId: string, runId: string, taskId: string, mapIndex = -1): Promise<TaskInstance> {
  await requireRun(store, dagId, runId);
  const t = await store.getTaskInstance(runId, taskId, mapIndex);
  if (t) return t;
  const mapped = (await store.listTaskInstances(runId)).filter((i) => i.taskId === taskId && i.mapIndex >= 0).length;
  if (mapped > 0) throw new NotFoundError("Task instance", `${taskId}[${mapIndex}]`, `"${taskId}" is mapped into ${mapped} instances: pass ?mapIndex=N with N from 0 to ${mapped - 1}`);
  throw new NotFoundError("Task", taskId, `List the tasks of run "${runId}" with GET /api/v1/dags/${dagId}/runs/{runId}/tasks`);
}

/** The task instance routes. */
export const taskRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/dags/{dagId}/runs/{runId}/tasks", operationId: "listTaskInstances", tag: "Task instances",
    role: "read", errors: [404], summary: "Task instances of a run",
    params: RunParams, response: TaskInstanceList,
    async handler({ params, services: { ctx } }) {
      const run = await requireRun(ctx.store, params.dagId, params.runId);
      const order = (await ctx.store.getDagVersion(run.versionHash))?.serialized.order ?? [];
      const rank = new Map(order.map((id, i) => [id, i]));
      const tis = (await ctx.store.listTaskInstances(params.runId))
        .sort((a, b) => (rank.get(a.taskId) ?? order.length) - (rank.get(b.taskId) ?? order.length) || a.taskId.localeCompare(b.taskId));
      const routing = tis.some((t) => t.state === "queued") ? await loadRouting(ctx) : null;
      const reused = await ctx.store.listReusedTries(params.runId);
      return { taskInstances: tis.map((t) => taskInstanceView(t, routing ? waitReason(routing, t) : null, ranReused(reused, t))) };
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/runs/{runId}/tasks/{taskId}", operationId: "getTaskInstance", tag: "Task instances",
    role: "read", errors: [404], summary: "A task instance (one instance of a mapped task with ?mapIndex=N)", params: TaskParams, query: MapIndexQuery, response: TaskInstanceView,
    async handler({ params, query, services: { ctx } }) {
      const ti = await requireTask(ctx.store, params.dagId, params.runId, params.taskId, query.mapIndex);
      return taskInstanceView(ti, ti.state === "queued" ? waitReason(await loadRouting(ctx), ti) : null, ranReused(await ctx.store.listReusedTries(params.runId), ti));
    },
  }),
  defineRoute({
    method: "PATCH", path: "/dags/{dagId}/runs/{runId}/tasks/{taskId}", operationId: "markTaskInstance", tag: "Task instances",
    role: "admin", errors: [404, 409], summary: "Mark a task instance success, failed or skipped",
    params: TaskParams, query: MapIndexQuery, body: TaskPatchBody, response: TaskInstanceView,
    async handler({ params, query, body, services: { ctx, core, hub } }) {
      await requireTask(ctx.store, params.dagId, params.runId, params.taskId, query.mapIndex);
      await core.markTaskState(params.runId, params.taskId, body.state, query.mapIndex);
      void hub.poll();
      return taskInstanceView(await requireTask(ctx.store, params.dagId, params.runId, params.taskId, query.mapIndex));
    },
  }),
  defineRoute({
    method: "POST", path: "/dags/{dagId}/runs/{runId}/tasks/{taskId}/clear", operationId: "clearTaskInstance",
    tag: "Task instances", role: "admin", errors: [404, 409], summary: "Clear a task instance (and optionally its downstream or upstream) to retry it; dryRun lists what would be cleared",
    params: TaskParams, query: MapIndexQuery, body: ClearTaskBody, response: Cleared,
    async handler({ params, query, body, services: { ctx, core, hub } }) {
      await requireTask(ctx.store, params.dagId, params.runId, params.taskId, query.mapIndex);
      const options = { downstream: body.downstream, upstream: body.upstream, onlyFailed: body.onlyFailed, mapIndex: query.mapIndex };
      if (body.dryRun) return { cleared: await core.planClear(params.runId, [params.taskId], options) };
      const cleared = await core.clearTaskInstances(params.runId, [params.taskId], options);
      void hub.poll();
      return { cleared };
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/runs/{runId}/tasks/{taskId}/tries", operationId: "listTries", tag: "Task instances",
    role: "read", errors: [404], summary: "Tries of a task instance, oldest first", params: TaskParams, query: MapIndexQuery, response: TryList,
    async handler({ params, query, services: { ctx } }) {
      await requireTask(ctx.store, params.dagId, params.runId, params.taskId, query.mapIndex);
      const tries = await ctx.store.listTries(params.runId, params.taskId, query.mapIndex);
      return { tries: tries.sort((a, b) => a.tryNumber - b.tryNumber).map(tryView) };
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/runs/{runId}/tasks/{taskId}/tries/{tryNumber}/logs", operationId: "getLog",
    tag: "Task instances", role: "read", errors: [404],
    summary: "A chunk of a try's log from a byte offset; follow with nextOffset until complete",
    params: TryParams, query: LogQuery, response: LogChunk,
    async handler({ params, query, services: { ctx, core } }) {
      await requireTask(ctx.store, params.dagId, params.runId, params.taskId, query.mapIndex);
      const ref = { runId: params.runId, taskId: params.taskId, mapIndex: query.mapIndex, tryNumber: params.tryNumber };
      if (!(await ctx.store.getTry(ref))) {
        throw new NotFoundError("Try", String(params.tryNumber), "List the tries with GET …/tasks/{taskId}/tries");
      }
      return core.readLogChunk(ref, query.offset, query.maxBytes);
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/runs/{runId}/tasks/{taskId}/xcom", operationId: "getXcom", tag: "Task instances",
    role: "read", errors: [404], summary: "The XCom (result) of the task's latest successful try; of a mapped task, the list of its instances' XComs (or one instance's with ?mapIndex=N)",
    params: TaskParams, query: MapIndexQuery, response: XcomView,
    async handler({ params, query, services: { ctx } }) {
      const json = query.mapIndex >= 0
        ? (await requireTask(ctx.store, params.dagId, params.runId, params.taskId, query.mapIndex), (await ctx.store.listInstanceXcoms(params.runId, params.taskId)).get(query.mapIndex))
        : (await requireRun(ctx.store, params.dagId, params.runId), await ctx.store.getXcom(params.runId, params.taskId));
      if (json === undefined) throw new NotFoundError("XCom of task", params.taskId, "A task has an XCom once a try succeeded");
      const sizeBytes = Buffer.byteLength(json);
      if (sizeBytes > XCOM_INLINE_LIMIT) return { value: null, sizeBytes, truncated: true };
      let value: unknown = json;
      try {
        value = JSON.parse(json);
      } catch {
        // Stored text that is not JSON is shown as text.
      }
      return { value, sizeBytes, truncated: false };
    },
  }),
];
