/**
 * Store records → API views. Views are what the OpenAPI document promises; they leave out internals such as
 * bundle paths, worker handles and log paths.
 */
import type { z } from "zod";
import { runStartsAt } from "../scheduler/timetable.js";
import { SENSITIVE_NAME } from "../secrets/masker.js";
import type { DagRecord, DagRun, TaskInstance, TaskTry } from "../store/types.js";
import type {
  ConnectionView, DagDetail, DagSummary, EnvironmentView, RunBrief, RunView, TaskInstanceView, TryView, VariableView,
} from "./schemas.js";

/** A run as shown in lists and grids. */
export function runBrief(r: DagRun): z.input<typeof RunBrief> {
  return { runId: r.runId, state: r.state, runType: r.runType, logicalDate: r.logicalDate, startDate: r.startDate, endDate: r.endDate };
}

/** A run with all its public fields. */
export function runView(r: DagRun): z.input<typeof RunView> {
  return {
    ...runBrief(r),
    dagId: r.dagId,
    dataIntervalStart: r.dataIntervalStart,
    dataIntervalEnd: r.dataIntervalEnd,
    conf: r.conf,
    params: r.params,
    versionHash: r.versionHash,
    createdAt: r.createdAt,
  };
}

/** A DAG row of the DAG list. */
export function dagSummary(d: DagRecord, recent: DagRun[]): z.input<typeof DagSummary> {
  const s = d.serialized;
  return {
    dagId: d.dagId,
    description: s.description,
    fileloc: d.fileloc,
    schedule: s.schedule,
    timezone: s.timezone,
    tags: s.tags,
    isPaused: d.isPaused,
    pausedReason: d.pausedReason,
    isActive: d.isActive,
    taskCount: s.order.length,
    lastParsedAt: d.lastParsedAt,
    nextLogicalDate: d.nextLogicalDate,
    nextRunAt: runStartsAt(d.serialized, d.nextLogicalDate),
    recentRuns: recent.map(runBrief),
  };
}

/** A DAG with its tasks and params. */
export function dagDetail(d: DagRecord, recent: DagRun[], catchupWarning: string | null = null): z.input<typeof DagDetail> {
  const s = d.serialized;
  return {
    ...dagSummary(d, recent),
    catchupWarning,
    startDate: s.startDate,
    catchup: s.catchup,
    maxActiveRuns: s.maxActiveRuns,
    params: s.params,
    paramsSchema: s.paramsSchema,
    versionHash: d.versionHash,
    isPipeline: s.pipeline !== undefined,
    scheduleDatasets: s.scheduleDatasets ?? [],
    tasks: s.order.flatMap((id) => {
      const t = s.tasks[id];
      if (!t) return [];
      return [{
        taskId: id, kind: t.kind, upstream: t.upstream, downstream: t.downstream, triggerRule: t.triggerRule,
        retries: t.retries, pool: t.pool, queue: t.queue, environment: t.environment, backend: t.backend, doc: t.doc,
        group: t.group ?? null,
      }];
    }),
  };
}

/** A task instance. */
export function taskInstanceView(t: TaskInstance, waitReason: string | null = null, reused = false): z.input<typeof TaskInstanceView> {
  return {
    dagId: t.dagId, runId: t.runId, taskId: t.taskId, mapIndex: t.mapIndex, state: t.state, tryNumber: t.tryNumber, maxTries: t.maxTries,
    pool: t.pool, queue: t.queue, isolation: t.isolation, reused, notBefore: t.notBefore, startDate: t.startDate,
    endDate: t.endDate, updatedAt: t.updatedAt, waitReason,
  };
}

/** A try, without its worker handle or log path. */
export function tryView(t: TaskTry): z.input<typeof TryView> {
  return {
    tryNumber: t.tryNumber, state: t.state, isolation: t.isolation, reused: t.reused || t.handle?.reused === true, hostname: t.hostname, workerId: t.workerId, startedAt: t.startedAt,
    endedAt: t.endedAt, exitCode: t.exitCode, error: t.error,
  };
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : v == null ? null : String(v));
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** A connection from the core's public view; a password is never passed on, only whether there is one. */
export function connectionView(c: Record<string, unknown>): z.input<typeof ConnectionView> {
  const pw = c.password ?? c.passwordEnc;
  return {
    connId: str(c.connId ?? c.id) ?? "",
    connType: str(c.connType ?? c.type),
    host: str(c.host),
    port: num(c.port),
    login: str(c.login),
    schema: str(c.schema),
    extra: obj(c.extra),
    description: str(c.description),
    hasPassword: c.hasPassword === true || (typeof pw === "string" && pw !== ""),
  };
}

/**
 * A variable from the core's public view; a secret's value is always null here, whatever the core sent. As in
 * Airflow, a variable whose name looks secret (password, token, api_key…) is hidden even if it was not flagged, and
 * in a JSON object value the members with such names show as ***.
 */
export function variableView(v: Record<string, unknown>): z.input<typeof VariableView> {
  const key = str(v.key) ?? "";
  const isSecret = v.isSecret === true || v.secret === true || SENSITIVE_NAME.test(key);
  return { key, value: isSecret ? null : maskJsonMembers(str(v.value)), isSecret, description: str(v.description) };
}

/** A JSON object or array text with the values of secret-looking members replaced by "***"; other text unchanged. */
function maskJsonMembers(value: string | null): string | null {
  if (value === null || !/^\s*[[{]/.test(value)) return value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return value;
  }
  let changed = false;
  const hide = (x: unknown, secret: boolean): unknown => {
    if (Array.isArray(x)) return x.map((y) => hide(y, secret));
    if (typeof x === "object" && x !== null) return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, hide(y, secret || SENSITIVE_NAME.test(k))]));
    if (secret && x !== null) {
      changed = true;
      return "***";
    }
    return x;
  };
  const masked = hide(parsed, false);
  return changed ? JSON.stringify(masked) : value;
}

/** An environment from the environments module. */
export function environmentView(e: Record<string, unknown>): z.input<typeof EnvironmentView> {
  const tasks = Array.isArray(e.tasks) ? e.tasks : Array.isArray(e.usedBy) ? e.usedBy : [];
  const last = e.lastUsedAt ?? e.lastUsed;
  return {
    name: str(e.name) ?? "",
    key: str(e.key),
    state: str(e.state) ?? "unknown",
    sizeBytes: num(e.sizeBytes ?? e.size),
    lastUsedAt: last instanceof Date ? last.toISOString() : str(last),
    node: str(e.node),
    error: str(e.error),
    tasks: tasks.flatMap((t: unknown) => {
      const o = obj(t);
      if (o) return [{ dagId: str(o.dagId) ?? "", taskId: str(o.taskId) ?? "" }];
      if (typeof t === "string") {
        const [dagId = "", taskId = ""] = t.split(/[./:]/, 2);
        return [{ dagId, taskId }];
      }
      return [];
    }),
  };
}
