/**
 * The declarative triggers a deferred sensor waits on, evaluated by a worker's trigger loop (and, for sensors the
 * orchestrator runs itself, by their pokes). Each is data (a time, a path, another DAG's task, an HTTP endpoint),
 * checked with asynchronous I/O: no task code runs here and no process is started.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { AirlockContext } from "../core/context.js";
import { resolveConnection } from "../core/connections.js";
import { parseDuration } from "../sdk/duration.js";
import type { SerializedTask } from "../sdk/serialized.js";
import type { DagRun } from "../store/types.js";
import type { ProtocolError } from "../runner/protocol.js";
import { baseUrl } from "../runner/operators/http.js";
import { taskStateIn } from "../scheduler/mapping.js";

/** What a trigger waits for. */
export type TriggerCheck =
  | { kind: "time"; at: string }
  | { kind: "file"; path: string }
  | { kind: "external_task"; externalDagId: string; externalTaskId: string | null; logicalDate: string; allowed: string[]; failed: string[] }
  | { kind: "http"; connection: string; path: string; headers: Record<string, string>; expectedStatus: number[] | null; responseContains: string | null };

/** A stored trigger: the check plus the sensor's timing options. */
export type TriggerSpec = TriggerCheck & {
  /** Between two checks, in ms. */
  pokeIntervalMs: number;
  /** The sensor's timeout ends the wait here (ISO). */
  deadline: string;
  softFail: boolean;
  /** Human words for the log ("file /data/x.csv"). */
  target: string;
};

/** The result of one check. */
export type CheckResult = { met: true; xcom: unknown; note: string } | { met: false; note: string } | { failed: ProtocolError };

/** Builds a sensor's trigger from its rendered arguments. */
export function triggerSpecOf(task: SerializedTask, args: Record<string, unknown>, run: DagRun, startedAt: number): TriggerSpec {
  const a = args as { pokeInterval?: string | number; timeout?: string | number; softFail?: boolean };
  const timing = {
    pokeIntervalMs: parseDuration(a.pokeInterval ?? "30s", "pokeInterval"),
    deadline: new Date(startedAt + parseDuration(a.timeout ?? "7d", "timeout")).toISOString(),
    softFail: a.softFail === true,
  };
  switch (task.kind) {
    case "time_sensor": {
      const at = typeof args.target === "string" ? new Date(args.target) : new Date(Date.parse(run.dataIntervalEnd) + parseDuration(args.delta as string | number, "delta"));
      if (Number.isNaN(at.getTime())) throw new Error(`timeSensor "${task.id}": target ${JSON.stringify(args.target)} is not an ISO 8601 time; check its template`);
      return { kind: "time", at: at.toISOString(), ...timing, target: `time ${at.toISOString()}` };
    }
    case "file_sensor":
      return { kind: "file", path: String(args.path), ...timing, target: `file ${String(args.path)}` };
    case "external_task_sensor": {
      const e = args as { externalDagId: string; externalTaskId?: string; allowedStates?: string[]; failedStates?: string[]; executionDelta?: string | number };
      const logicalDate = new Date(Date.parse(run.logicalDate) - parseDuration(e.executionDelta ?? 0, "executionDelta")).toISOString();
      return {
        kind: "external_task", externalDagId: e.externalDagId, externalTaskId: e.externalTaskId ?? null, logicalDate,
        allowed: e.allowedStates ?? ["success"], failed: e.failedStates ?? ["failed", "upstream_failed"], ...timing,
        target: `${e.externalDagId}${e.externalTaskId ? `.${e.externalTaskId}` : ""} at ${logicalDate}`,
      };
    }
    case "http_sensor": {
      const h = args as { connection: string; path?: string; headers?: Record<string, string>; expectedStatus?: number | number[]; responseContains?: string };
      return {
        kind: "http", connection: h.connection, path: h.path ?? "", headers: h.headers ?? {},
        expectedStatus: h.expectedStatus === undefined ? null : ([] as number[]).concat(h.expectedStatus), responseContains: h.responseContains ?? null,
        ...timing, target: `GET ${h.path ?? "/"} of connection ${h.connection}`,
      };
    }
    default:
      throw new Error(`task "${task.id}" (${task.kind}) cannot defer: only timeSensor, fileSensor, externalTaskSensor and httpSensor have mode "deferrable"`);
  }
}

async function fileMatch(p: string): Promise<string | null> {
  if (!p.includes("*")) return stat(p).then(() => p, () => null);
  const re = new RegExp(`^${path.basename(p).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
  const hit = (await readdir(path.dirname(p)).catch(() => [] as string[])).find((f) => re.test(f));
  return hit ? path.join(path.dirname(p), hit) : null;
}

/** Checks a trigger once. */
export async function checkTrigger(ctx: AirlockContext, spec: TriggerCheck): Promise<CheckResult> {
  switch (spec.kind) {
    case "time":
      return Date.now() >= Date.parse(spec.at) ? { met: true, xcom: spec.at, note: `reached ${spec.at}` } : { met: false, note: `waiting until ${spec.at}` };
    case "file": {
      const hit = await fileMatch(spec.path);
      return hit ? { met: true, xcom: hit, note: `found ${hit}` } : { met: false, note: `${spec.path} does not exist yet` };
    }
    case "external_task": {
      const { runs } = await ctx.store.listRuns({ dagId: spec.externalDagId, limit: 1000 });
      const match = runs.find((r) => r.logicalDate === spec.logicalDate);
      const state = match ? (spec.externalTaskId ? (await taskStateIn(ctx, match.runId, spec.externalTaskId)) ?? null : match.state) : null;
      const what = `${spec.externalDagId}${spec.externalTaskId ? `.${spec.externalTaskId}` : ""} at ${spec.logicalDate}`;
      if (state && spec.allowed.includes(state)) return { met: true, xcom: { runId: match?.runId, state }, note: `${what} is ${state}` };
      if (state && spec.failed.includes(state)) return { failed: { type: "ExternalTaskFailed", message: `${what} is ${state}` } };
      return { met: false, note: `${what} is ${state ?? "not there yet (no run)"}` };
    }
    case "http": {
      const conn = await resolveConnection(ctx, spec.connection);
      if (!conn?.host) return { failed: { type: "HttpSensorError", message: `connection "${spec.connection}" does not exist or has no host: add it with airlock connections add ${spec.connection} --uri http://host:port` } };
      const url = baseUrl(conn) + (spec.path && !spec.path.startsWith("/") ? `/${spec.path}` : spec.path);
      const headers: Record<string, string> = { ...spec.headers };
      if (conn.login) headers.authorization = `Basic ${Buffer.from(`${conn.login}:${conn.password ?? ""}`).toString("base64")}`;
      try {
        const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
        const text = await res.text();
        const ok = spec.expectedStatus ? spec.expectedStatus.includes(res.status) : res.status >= 200 && res.status < 300;
        if (ok && (spec.responseContains === null || text.includes(spec.responseContains))) {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Not JSON: the text is the XCom.
          }
          return { met: true, xcom: body, note: `HTTP ${res.status} from ${spec.path || "/"}` };
        }
        return { met: false, note: `HTTP ${res.status} from ${spec.path || "/"}${ok ? " without the expected text" : ""}` };
      } catch (err) {
        return { met: false, note: `request to ${spec.path || "/"} failed: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}` };
      }
    }
  }
}
