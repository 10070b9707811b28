/** Read-only views for the UI's charts and pages: a DAG's code, its calendar, task durations, a run's Gantt and XComs. */
import { open, stat } from "node:fs/promises";
import path from "node:path";
import { NotFoundError } from "../../core/errors.js";
import { knownSecretsMasker } from "../../core/connections.js";
import type { AirlockContext } from "../../core/context.js";
import type { DagRun } from "../../store/types.js";
import { defineRoute, type AnyRoute } from "../route.js";
import { Calendar, CalendarQuery, DagCode, DurationsQuery, Gantt, RunXcoms, TaskDurations } from "../insight-schemas.js";
import { DagParams, RunParams } from "../schemas.js";
import { runBrief } from "../views.js";
import { requireDag } from "./dags.js";
import { requireRun } from "./runs.js";

const CODE_LIMIT = 1024 * 1024;
const XCOM_PREVIEW_LIMIT = 64 * 1024;
const CALENDAR_MAX_RUNS = 20_000;

/** Reads a DAG file if it lies inside the DAGs folder (a moved project must not expose other files). */
async function readDagFile(ctx: AirlockContext, dagId: string, fileloc: string) {
  const folder = path.resolve(ctx.config.dagsFolder);
  const file = path.resolve(fileloc);
  const hint = `The file ${fileloc} of DAG "${dagId}" is not readable in the DAGs folder; check that it still exists`;
  if (!file.startsWith(folder + path.sep)) throw new NotFoundError("DAG file", fileloc, hint);
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) throw new NotFoundError("DAG file", fileloc, hint);
  const handle = await open(file, "r");
  try {
    const length = Math.min(s.size, CODE_LIMIT);
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, 0);
    return { text: buf.toString("utf8"), size: s.size, mtime: s.mtime };
  } finally {
    await handle.close();
  }
}

/** "YYYY-MM-DD" of an instant in a time zone. */
function dayIn(timezone: string): (iso: string) => string {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit" });
  } catch {
    format = new Intl.DateTimeFormat("en-CA", { timeZone: "UTC", year: "numeric", month: "2-digit", day: "2-digit" });
  }
  return (iso) => format.format(new Date(iso));
}

const seconds = (start: string | null, end: string | null): number | null =>
  start && end ? Math.max(0, (Date.parse(end) - Date.parse(start)) / 1000) : null;

/** The insight routes. */
export const insightRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/dags/{dagId}/code", operationId: "getDagCode", tag: "DAGs", role: "read", errors: [404],
    summary: "The DAG's source file (read-only; known secret values masked)", params: DagParams, response: DagCode,
    async handler({ params, services: { ctx } }) {
      const d = await requireDag(ctx.store, params.dagId);
      const file = await readDagFile(ctx, d.dagId, d.fileloc);
      const masker = await knownSecretsMasker(ctx);
      return {
        dagId: d.dagId, fileloc: d.fileloc, source: masker.mask(file.text), sizeBytes: file.size,
        truncated: file.size > CODE_LIMIT, modifiedAt: file.mtime.toISOString(),
      };
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/calendar", operationId: "getDagCalendar", tag: "DAGs", role: "read", errors: [404],
    summary: "Runs per day of their logical date (in the DAG's time zone) by state, for the last N days",
    params: DagParams, query: CalendarQuery, response: Calendar,
    async handler({ params, query, services: { ctx } }) {
      const d = await requireDag(ctx.store, params.dagId);
      const timezone = d.serialized.timezone;
      const day = dayIn(timezone);
      const to = day(new Date().toISOString());
      const from = day(new Date(Date.now() - (query.days - 1) * 86_400_000).toISOString());
      const days = new Map<string, { date: string; total: number; states: Partial<Record<DagRun["state"], number>> }>();
      // Newest first, page by page, until the runs are older than the window.
      for (let offset = 0; offset < CALENDAR_MAX_RUNS; offset += 1000) {
        const { runs } = await ctx.store.listRuns({ dagId: d.dagId, limit: 1000, offset, order: "desc" });
        let older = false;
        for (const r of runs) {
          const date = day(r.logicalDate);
          if (date < from) {
            older = true;
            continue;
          }
          const entry = days.get(date) ?? { date, total: 0, states: {} };
          entry.total++;
          entry.states[r.state] = (entry.states[r.state] ?? 0) + 1;
          days.set(date, entry);
        }
        if (older || runs.length < 1000) break;
      }
      return { dagId: d.dagId, timezone, from, to, days: [...days.values()].sort((a, b) => a.date.localeCompare(b.date)) };
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/taskDurations", operationId: "getTaskDurations", tag: "DAGs", role: "read", errors: [404],
    summary: "How long each task took in the last N runs (oldest first)", params: DagParams, query: DurationsQuery, response: TaskDurations,
    async handler({ params, query, services: { ctx } }) {
      const d = await requireDag(ctx.store, params.dagId);
      const runs = (await ctx.store.listRuns({ dagId: d.dagId, limit: query.limit, order: "desc" })).runs.reverse();
      const instances = await Promise.all(runs.map((r) => ctx.store.listTaskInstances(r.runId)));
      const byRun = instances.map((list) => new Map(list.map((t) => [t.taskId, t])));
      return {
        dagId: d.dagId,
        runs: runs.map(runBrief),
        tasks: d.serialized.order.map((taskId) => ({
          taskId,
          seconds: byRun.map((m) => {
            const t = m.get(taskId);
            return t ? seconds(t.startDate, t.endDate) : null;
          }),
          states: byRun.map((m) => m.get(taskId)?.state ?? null),
        })),
      };
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/runs/{runId}/gantt", operationId: "getRunGantt", tag: "Runs", role: "read", errors: [404],
    summary: "When each task of a run started and ended, with its earlier tries", params: RunParams, response: Gantt,
    async handler({ params, services: { ctx } }) {
      const run = await requireRun(ctx.store, params.dagId, params.runId);
      const order = (await ctx.store.getDagVersion(run.versionHash))?.serialized.order ?? [];
      const rank = new Map(order.map((id, i) => [id, i]));
      const tis = (await ctx.store.listTaskInstances(run.runId))
        .sort((a, b) => (rank.get(a.taskId) ?? order.length) - (rank.get(b.taskId) ?? order.length) || a.taskId.localeCompare(b.taskId));
      const tasks = await Promise.all(tis.map(async (t) => ({
        taskId: t.taskId, state: t.state, startDate: t.startDate, endDate: t.endDate,
        // Only tasks that ran more than once need a second query.
        tries: t.tryNumber > 1
          ? (await ctx.store.listTries(run.runId, t.taskId)).sort((a, b) => a.tryNumber - b.tryNumber)
            .map((x) => ({ tryNumber: x.tryNumber, state: x.state, startedAt: x.startedAt, endedAt: x.endedAt }))
          : [],
      })));
      return { dagId: run.dagId, run: runBrief(run), tasks };
    },
  }),
  defineRoute({
    method: "GET", path: "/dags/{dagId}/runs/{runId}/xcoms", operationId: "listRunXcoms", tag: "Runs", role: "read", errors: [404],
    summary: "The XCom (result) of every task of a run that has one", params: RunParams, response: RunXcoms,
    async handler({ params, services: { ctx } }) {
      const run = await requireRun(ctx.store, params.dagId, params.runId);
      const order = (await ctx.store.getDagVersion(run.versionHash))?.serialized.order ?? [];
      // One entry per task: a mapped task's instances share its id (its XCom is the list of their results).
      const ids = [...new Set((await ctx.store.listTaskInstances(run.runId)).map((t) => t.taskId))];
      const rank = new Map(order.map((id, i) => [id, i]));
      ids.sort((a, b) => (rank.get(a) ?? order.length) - (rank.get(b) ?? order.length) || a.localeCompare(b));
      const values = await ctx.store.getXcoms(run.runId, ids);
      const xcoms = ids.flatMap((taskId) => {
        const json = values.get(taskId);
        if (json === undefined) return [];
        const sizeBytes = Buffer.byteLength(json);
        if (sizeBytes > XCOM_PREVIEW_LIMIT) return [{ taskId, value: null, sizeBytes, truncated: true }];
        let value: unknown = json;
        try {
          value = JSON.parse(json);
        } catch {
          // Stored text that is not JSON is shown as text.
        }
        return [{ taskId, value, sizeBytes, truncated: false }];
      });
      return { runId: run.runId, xcoms };
    },
  }),
];
