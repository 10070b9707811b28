/**
 * A real API server over a real SQLite store in a temp project, plus helpers to populate the store through the
 * Store interface (DAGs, runs, tries with log files) and to call the API.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, type AirlockConfig, type ApiToken } from "../../src/config/config.js";
import { createContext, type AirlockContext } from "../../src/core/context.js";
import { createApiServer, type ApiServer, type ApiServerOptions } from "../../src/api/server.js";
import { bash, dag, empty, serializeDag, type Task } from "../../src/sdk/index.js";
import { runTasks } from "../../src/core/actions.js";
import type { DagOptions } from "../../src/sdk/dag.js";

/** A running server and its project. */
export interface ApiFixture {
  dir: string;
  ctx: AirlockContext;
  server: ApiServer;
  url: string;
  logs: string[];
  /** Calls the API; `path` is relative to /api/v1 unless it starts with "/". */
  call(method: string, path: string, options?: { body?: unknown; rawBody?: string; token?: string; headers?: Record<string, string> }): Promise<{ status: number; json: any; text: string; headers: Headers }>;
  /** Adds a DAG of `tasks` chained in order (bash tasks echoing their id, or empty). */
  addDag(options: Partial<DagOptions> & { id: string }, tasks?: string[]): Promise<void>;
  /** Runs a task instance's first (or next) try to the end, writing `log` to its log file. */
  runTry(runId: string, taskId: string, log: string, outcome?: "success" | "failed"): Promise<number>;
  /** Starts a try and leaves it running; returns its log path. */
  startTry(runId: string, taskId: string): Promise<{ tryNumber: number; logPath: string }>;
  close(): Promise<void>;
}

/** Starts a server on a free port. */
export async function startApi(options: { tokens?: ApiToken[]; maxBodyBytes?: number; server?: ApiServerOptions; configure?: (config: AirlockConfig) => void } = {}): Promise<ApiFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-api-"));
  const config = await loadConfig({ cwd: dir, env: {} });
  config.api.tokens = options.tokens ?? [];
  if (options.maxBodyBytes) config.api.maxBodyBytes = options.maxBodyBytes;
  options.configure?.(config);
  const ctx = await createContext(config);
  const logs: string[] = [];
  const server = await createApiServer(ctx, { host: "127.0.0.1", port: 0, log: (m) => logs.push(m), uiDir: path.join(dir, "no-ui"), ...options.server });
  const url = server.url;

  const call: ApiFixture["call"] = async (method, p, o = {}) => {
    // What the API client sends (a same-origin proof); a test of the guard passes its own headers.
    const headers: Record<string, string> = { "x-airlock-request": "1", ...(o.headers ?? {}) };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined = o.rawBody;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(url + (p.startsWith("/") ? p : `/api/v1/${p}`), { method, headers, body });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  };

  const addDag: ApiFixture["addDag"] = async (o, tasks = ["extract", "transform", "load"]) => {
    const d = dag({ schedule: null, ...o }, () => {
      let prev: Task | undefined;
      for (const id of tasks) {
        const t = id.startsWith("empty") ? empty({ id }) : bash({ id, command: `echo ${id}` });
        prev?.then(t);
        prev = t;
      }
    });
    const serialized = serializeDag(d);
    const fileloc = path.join(dir, "dags", `${o.id}.ts`);
    await ctx.store.upsertDag({ fileloc, serialized, versionHash: `v-${o.id}-${tasks.length}`, bundlePath: fileloc });
  };

  const startTry: ApiFixture["startTry"] = async (runId, taskId) => {
    const ti = await ctx.store.getTaskInstance(runId, taskId);
    if (!ti) throw new Error(`no task ${taskId} in ${runId}`);
    await ctx.store.transitionTask(runId, taskId, [ti.state], { state: "queued" });
    let logPath = "";
    const claimed = await ctx.store.claimQueued({
      workerId: "test", hostname: os.hostname(), queues: [ti.queue], limit: 100,
      isolationOf: () => "process",
      logPathOf: (c) => (logPath = path.join(dir, ".airlock", "logs", c.runId.replace(/[^\w.-]/g, "_"), c.taskId, `${c.tryNumber}.log`)),
    });
    const mine = claimed.find((c) => c.taskId === taskId && c.runId === runId);
    if (!mine) throw new Error(`could not claim ${taskId}`);
    mkdirSync(path.dirname(logPath), { recursive: true });
    writeFileSync(logPath, "");
    return { tryNumber: mine.tryNumber, logPath: (await ctx.store.getTry({ runId, taskId, tryNumber: mine.tryNumber }))?.logPath ?? logPath };
  };

  const runTry: ApiFixture["runTry"] = async (runId, taskId, log, outcome = "success") => {
    const { tryNumber, logPath } = await startTry(runId, taskId);
    writeFileSync(logPath, log);
    await ctx.store.finishTry({ runId, taskId, tryNumber }, {
      state: outcome, taskState: outcome, exitCode: outcome === "success" ? 0 : 1,
      error: outcome === "success" ? null : { type: "Error", message: "boom" },
      xcomJson: outcome === "success" ? JSON.stringify({ task: taskId }) : null,
    });
    return tryNumber;
  };

  return {
    dir, ctx, server, url, logs, call, addDag, runTry, startTry,
    close: async () => {
      await server.close();
      await ctx.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a manual run directly in the store (no scheduler involved). */
export async function createRun(ctx: AirlockContext, dagId: string, runId: string, logicalDate: string): Promise<void> {
  const d = await ctx.store.getDag(dagId);
  if (!d) throw new Error(`no DAG ${dagId}`);
  await ctx.store.createRun({
    runId, dagId, runType: "manual", logicalDate, dataIntervalStart: logicalDate, dataIntervalEnd: logicalDate,
    conf: {}, params: d.serialized.params, versionHash: d.versionHash, tasks: runTasks(d.serialized),
  });
}
