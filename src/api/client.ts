/**
 * A typed client of Airlock's REST API (fetch-based), used by the CLI's --api-url mode and by scripts.
 * Errors the server reports become UserErrors carrying the server's code, message and hint.
 */
import type { z } from "zod";
import { UserError, type UserErrorCode } from "../core/errors.js";
import type {
  Cleared, ConnectionList, DagDetail, DagList, EnvironmentList, Grid, Health, ImportErrorList, LogChunk, RunList,
  RunView, TaskInstanceList, TaskInstanceView, TryList, VariableList, VariableView, Version,
} from "./schemas.js";
import { readSse, type SseMessage } from "./sse-reader.js";
import type { AuditEvent } from "../store/types.js";

/** Types of the API's answers. */
export type DagListResult = z.output<typeof DagList>;
export type DagDetailResult = z.output<typeof DagDetail>;
export type RunResult = z.output<typeof RunView>;
export type RunListResult = z.output<typeof RunList>;
export type TaskInstanceResult = z.output<typeof TaskInstanceView>;
export type LogChunkResult = z.output<typeof LogChunk>;
export type GridResult = z.output<typeof Grid>;

/** Options of `new ApiClient`. */
export interface ApiClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 (a trailing /api/v1 is accepted). */
  url: string;
  /** Bearer token (read or admin). */
  token?: string;
  /** Per-request timeout. @default 30000 */
  timeoutMs?: number;
}

const CODES: readonly UserErrorCode[] = ["not_found", "invalid_input", "conflict", "not_granted", "unauthorized", "forbidden", "too_large", "unavailable"];
const FINISHED_RUN = new Set(["success", "failed"]);

/** Raised when the server answered with an error; `status` is the HTTP status. */
export class ApiError extends UserError {
  override name = "ApiError";
  constructor(readonly status: number, code: UserErrorCode, message: string, hint: string, field?: string) {
    super(code, message, hint, { field });
  }
}

/** Client of one Airlock server. */
export class ApiClient {
  private readonly base: string;

  constructor(private readonly options: ApiClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (err) {
      throw new UserError("invalid_input", `API URL "${options.url}" is not a URL`, "Use e.g. --api-url http://127.0.0.1:8080", { cause: err, field: "apiUrl" });
    }
    this.base = url.href.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
  }

  /** The server's health. */
  health(): Promise<z.output<typeof Health>> {
    return this.request("GET", "/health");
  }

  /** The server's version. */
  version(): Promise<z.output<typeof Version>> {
    return this.request("GET", "/version");
  }

  /** DAGs with their recent runs. */
  listDags(query: { limit?: number; offset?: number; tags?: string[]; paused?: boolean; search?: string } = {}): Promise<DagListResult> {
    return this.request("GET", "/dags", undefined, { ...query, tags: query.tags?.join(",") });
  }

  /** One DAG with tasks and params. */
  getDag(dagId: string): Promise<DagDetailResult> {
    return this.request("GET", `/dags/${enc(dagId)}`);
  }

  /** Pauses or unpauses a DAG. */
  setPaused(dagId: string, isPaused: boolean): Promise<DagDetailResult> {
    return this.request("PATCH", `/dags/${enc(dagId)}`, { isPaused });
  }

  /** The audit log, newest first. */
  listAudit(query: { dagId?: string; action?: string; since?: string; limit?: number; offset?: number } = {}): Promise<{ events: AuditEvent[]; total: number }> {
    return this.request("GET", "/audit", undefined, query);
  }

  /** Files that failed to parse. */
  listImportErrors(): Promise<z.output<typeof ImportErrorList>> {
    return this.request("GET", "/importErrors");
  }

  /** The last `limit` runs × task states. */
  grid(dagId: string, limit = 25): Promise<GridResult> {
    return this.request("GET", `/dags/${enc(dagId)}/grid`, undefined, { limit });
  }

  /** Runs of a DAG, newest first. */
  listRuns(dagId: string, query: { limit?: number; offset?: number; state?: string[] } = {}): Promise<RunListResult> {
    return this.request("GET", `/dags/${enc(dagId)}/runs`, undefined, { ...query, state: query.state?.join(",") });
  }

  /** Triggers a run (conf is validated against the DAG's params). */
  triggerDagRun(dagId: string, options: { conf?: Record<string, unknown>; logicalDate?: string; runId?: string } = {}): Promise<RunResult> {
    return this.request("POST", `/dags/${enc(dagId)}/runs`, options);
  }

  /** One run. */
  getRun(dagId: string, runId: string): Promise<RunResult> {
    return this.request("GET", `/dags/${enc(dagId)}/runs/${enc(runId)}`);
  }

  /** Marks a run success or failed. */
  markRun(dagId: string, runId: string, state: "success" | "failed"): Promise<RunResult> {
    return this.request("PATCH", `/dags/${enc(dagId)}/runs/${enc(runId)}`, { state });
  }

  /** Clears task instances of a run so they run again. */
  clearRun(dagId: string, runId: string, options: { taskIds?: string[]; onlyFailed?: boolean; downstream?: boolean } = {}): Promise<z.output<typeof Cleared>> {
    return this.request("POST", `/dags/${enc(dagId)}/runs/${enc(runId)}/clear`, options);
  }

  /**
   * Waits for a run to succeed or fail and returns it; `onUpdate` sees each new state of the run. The server's event
   * stream says when the DAG changed (the run is read again at once); `pollMs` (default 2 s) re-reads it anyway in
   * case the stream is unavailable. `timeoutMs` (default: none) raises a UserError when the run is still going.
   */
  async waitForRun(dagId: string, runId: string, options: { pollMs?: number; timeoutMs?: number; signal?: AbortSignal; onUpdate?: (run: RunResult) => void } = {}): Promise<RunResult> {
    const stop = new AbortController();
    const changed = { signalled: false, wake: null as (() => void) | null };
    const stream = (async () => {
      try {
        for await (const m of this.events({ dagId, signal: stop.signal })) {
          if (m.event !== "change") continue;
          changed.signalled = true;
          changed.wake?.();
        }
      } catch {
        // No event stream (an older server, a proxy that buffers): polling alone still ends the wait.
      }
    })();
    try {
      return await this.pollRun(dagId, runId, options, changed);
    } finally {
      stop.abort();
      await stream;
    }
  }

  private async pollRun(dagId: string, runId: string, options: { pollMs?: number; timeoutMs?: number; signal?: AbortSignal; onUpdate?: (run: RunResult) => void },
    changed: { signalled: boolean; wake: (() => void) | null }): Promise<RunResult> {
    const started = Date.now();
    let last = "";
    for (;;) {
      changed.signalled = false;
      const run = await this.getRun(dagId, runId);
      if (run.state !== last) {
        last = run.state;
        options.onUpdate?.(run);
      }
      if (FINISHED_RUN.has(run.state)) return run;
      if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) {
        throw new UserError("unavailable", `Run "${runId}" is still ${run.state} after ${Math.round(options.timeoutMs / 1000)} s`, "Wait longer, or check the scheduler is running (airlock standalone or airlock scheduler)");
      }
      if (options.signal?.aborted) throw new UserError("unavailable", `Stopped waiting for run "${runId}"`, "Run the command again to keep waiting");
      if (changed.signalled) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs ?? 2000);
        changed.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      changed.wake = null;
    }
  }

  /** Task instances of a run, in DAG order. */
  listTaskInstances(dagId: string, runId: string): Promise<z.output<typeof TaskInstanceList>> {
    return this.request("GET", `/dags/${enc(dagId)}/runs/${enc(runId)}/tasks`);
  }

  /** One task instance. */
  getTaskInstance(dagId: string, runId: string, taskId: string, mapIndex = -1): Promise<TaskInstanceResult> {
    return this.request("GET", `/dags/${enc(dagId)}/runs/${enc(runId)}/tasks/${enc(taskId)}`, undefined, mapIndex >= 0 ? { mapIndex } : undefined);
  }

  /** Clears a task instance (and optionally its downstream) for retry. */
  clearTask(dagId: string, runId: string, taskId: string, options: { downstream?: boolean; upstream?: boolean; onlyFailed?: boolean; dryRun?: boolean } = {}): Promise<z.output<typeof Cleared>> {
    return this.request("POST", `/dags/${enc(dagId)}/runs/${enc(runId)}/tasks/${enc(taskId)}/clear`, options);
  }

  /** Tries of a task instance. */
  listTries(dagId: string, runId: string, taskId: string): Promise<z.output<typeof TryList>> {
    return this.request("GET", `/dags/${enc(dagId)}/runs/${enc(runId)}/tasks/${enc(taskId)}/tries`);
  }

  /** A chunk of a try's log from a byte offset. */
  readLog(dagId: string, runId: string, taskId: string, tryNumber: number, offset = 0, maxBytes?: number, mapIndex = -1): Promise<LogChunkResult> {
    return this.request("GET", `/dags/${enc(dagId)}/runs/${enc(runId)}/tasks/${enc(taskId)}/tries/${tryNumber}/logs`, undefined, { offset, maxBytes, ...(mapIndex >= 0 ? { mapIndex } : {}) });
  }

  /**
   * Yields a try's log text as it grows until the try has ended and all was read (`tasks logs --follow`).
   * A try that has not started yet is waited for.
   */
  async *followLog(dagId: string, runId: string, taskId: string, tryNumber: number, options: { pollMs?: number; signal?: AbortSignal; mapIndex?: number } = {}): AsyncGenerator<string> {
    for await (const chunk of this.followLogChunks(dagId, runId, taskId, tryNumber, options)) yield chunk.text;
  }

  /** As followLog, but yields the chunks themselves (with their offsets and time marks). */
  async *followLogChunks(dagId: string, runId: string, taskId: string, tryNumber: number, options: { pollMs?: number; signal?: AbortSignal; mapIndex?: number } = {}): AsyncGenerator<LogChunkResult> {
    let offset = 0;
    while (!options.signal?.aborted) {
      let chunk: LogChunkResult;
      try {
        chunk = await this.readLog(dagId, runId, taskId, tryNumber, offset, undefined, options.mapIndex);
      } catch (err) {
        // The task may still be queued: its try does not exist yet. Unknown DAGs, runs or tasks still fail.
        if (err instanceof ApiError && err.status === 404 && /Try/.test(err.message)) {
          await sleep(options.pollMs ?? 500);
          continue;
        }
        throw err;
      }
      if (chunk.text) yield chunk;
      if (chunk.complete) return;
      const more = chunk.nextOffset > offset;
      offset = chunk.nextOffset;
      if (!more) await sleep(options.pollMs ?? 500);
    }
  }

  /** Server-sent events (`change`, `log`, `ready`) until `signal` aborts. */
  async *events(options: { since?: number; dagId?: string; logs?: Array<{ runId: string; taskId: string; tryNumber: number }>; signal?: AbortSignal } = {}): AsyncGenerator<SseMessage> {
    const params = new URLSearchParams();
    if (options.since !== undefined) params.set("since", String(options.since));
    if (options.dagId) params.set("dagId", options.dagId);
    for (const l of options.logs ?? []) params.append("log", `${l.runId}|${l.taskId}|${l.tryNumber}`);
    const res = await this.fetch("GET", `/events?${params}`, undefined, options.signal, false);
    if (!res.body) return;
    yield* readSse(res.body, options.signal);
  }

  /** Sealed environments. */
  listEnvironments(): Promise<z.output<typeof EnvironmentList>> {
    return this.request("GET", "/environments");
  }

  /** Connections (without secrets). */
  listConnections(): Promise<z.output<typeof ConnectionList>> {
    return this.request("GET", "/connections");
  }

  /** Variables (secret values are null). */
  listVariables(): Promise<z.output<typeof VariableList>> {
    return this.request("GET", "/variables");
  }

  /** Sets a variable. */
  setVariable(key: string, value: string, options: { secret?: boolean; description?: string } = {}): Promise<z.output<typeof VariableView>> {
    return this.request("PUT", `/variables/${enc(key)}`, { value, ...options });
  }

  private async request<T>(method: string, path: string, body?: unknown, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const res = await this.fetch(method, qs.size > 0 ? `${path}?${qs}` : path, body);
    return (await res.json()) as T;
  }

  private async fetch(method: string, path: string, body: unknown, signal?: AbortSignal, timeout = true): Promise<Response> {
    // The server's proof that a state-changing request is not a cross-site one (see api/request-guard.ts).
    const headers: Record<string, string> = { accept: "application/json", "x-airlock-request": "1" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const signals = [signal, timeout ? AbortSignal.timeout(this.options.timeoutMs ?? 30_000) : undefined].filter((s): s is AbortSignal => s !== undefined);
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1${path}`, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
      });
    } catch (err) {
      throw new UserError("unavailable", `Cannot reach the Airlock API at ${this.base} (${(err as Error).message})`, "Check --api-url (or AIRLOCK__CLI__API_URL) and that `airlock api` or `airlock standalone` is running there", { cause: err });
    }
    if (res.ok) return res;
    let payload: { error?: { code?: string; message?: string; hint?: string; field?: string } } = {};
    try {
      payload = (await res.json()) as typeof payload;
    } catch {
      // Not an Airlock error body (a proxy in between, say); fall back to the status.
    }
    const e = payload.error ?? {};
    const code = CODES.includes(e.code as UserErrorCode) ? (e.code as UserErrorCode) : res.status === 404 ? "not_found" : res.status >= 500 ? "unavailable" : "invalid_input";
    const hint = e.hint ?? (res.status === 401 ? "Pass --token (or set AIRLOCK__CLI__TOKEN) with a token of the server" : "Check the server's log");
    throw new ApiError(res.status, code, e.message ?? `The API answered ${res.status} ${res.statusText}`, hint, e.field);
  }
}

const enc = encodeURIComponent;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
