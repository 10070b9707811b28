/**
 * Runs the callbacks of a task or a DAG run in their own processes, never in the orchestrator: notifiers on the
 * process backend (they are Airlock's code and need the network), function callbacks like the task itself (its
 * environment, on process or sandbox). Each callback's output and outcome are appended to the log of the try it is
 * about; a callback that fails is logged there and on stderr and changes no state.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import type { AirlockContext } from "../core/context.js";
import { logPath } from "../core/paths.js";
import { Masker } from "../secrets/masker.js";
import type { CallbackEvent, SerializedCallback } from "../sdk/notify.js";
import type { SerializedDag, SerializedTask } from "../sdk/serialized.js";
import type { BackendName } from "../sdk/types.js";
import type { Backend, ResolvedEnvironment } from "../backends/types.js";
import type { DagRun } from "../store/types.js";
import { LogPump } from "./log-pump.js";
import { decide, readEvents } from "./outcome.js";
import { buildPayload } from "./payload.js";
import { BackendRegistry, ensureEnvironment } from "./backends.js";

/** What the callbacks need from the orchestrator. */
export interface CallbackDeps {
  ctx: AirlockContext;
  backend(name: BackendName): Promise<Backend>;
  environment(name: string, log: (line: string) => void): Promise<ResolvedEnvironment>;
}

/** Which callbacks to run, and about which try. */
export interface CallbackRequest {
  scope: "task" | "dag";
  event: CallbackEvent;
  run: DagRun;
  dag: SerializedDag;
  bundlePath: string;
  /** The task whose context the callbacks get (for a DAG's callbacks: the failed task, or the last one). */
  task: SerializedTask;
  /** Its try whose log receives the callbacks' output. */
  tryNumber: number;
  isolation: BackendName | null;
  error: { type: string; message: string } | null;
}

/** A callback gets this long before it is stopped. */
const CALLBACK_TIMEOUT_MS = 120_000;

/** The callbacks a request names (none when the task or DAG has none for the event). */
export function callbacksOf(r: Pick<CallbackRequest, "scope" | "event" | "dag" | "task">): SerializedCallback[] {
  return (r.scope === "dag" ? r.dag.callbacks?.[r.event] : r.task.callbacks?.[r.event]) ?? [];
}

/** Runs every callback of the request, one after another; never throws. */
export async function runCallbacks(deps: CallbackDeps, r: CallbackRequest): Promise<void> {
  const list = callbacksOf(r);
  for (const [i, cb] of list.entries()) {
    const name = `${r.scope === "dag" ? "DAG " : ""}${r.event} callback${list.length > 1 ? ` ${i + 1}` : ""} (${cb.type === "fn" ? "function" : cb.type})`;
    try {
      await runOne(deps, r, cb, name);
    } catch (err) {
      process.stderr.write(`airlock: the ${name} of ${r.dag.id}.${r.task.id} in run ${r.run.runId} could not run: ${(err as Error).message}\n`);
    }
  }
}

async function runOne(deps: CallbackDeps, r: CallbackRequest, cb: SerializedCallback, name: string): Promise<void> {
  const { ctx } = deps;
  const dir = path.join(ctx.config.stateDir, "callbacks", randomUUID());
  const scratchDir = path.join(dir, "scratch");
  const rawLogPath = path.join(dir, "output.log");
  const eventsPath = path.join(dir, "events.ndjson");
  mkdirSync(scratchDir, { recursive: true });
  const finalLog = logPath(ctx.config.stateDir, { dagId: r.run.dagId, runId: r.run.runId, taskId: r.task.id, tryNumber: r.tryNumber });
  mkdirSync(path.dirname(finalLog), { recursive: true });
  const pump = new LogPump(rawLogPath, finalLog, new Masker([]), { maxBytes: ctx.config.logs.maxBytesPerTry });
  try {
    const isFn = cb.type === "fn";
    const templateFields = cb.type === "webhook" ? ["body", "path", "headers"] : cb.type === "email" ? ["to", "subject", "body"] : [];
    const operator: SerializedTask = {
      ...r.task, kind: "callback", templateFields,
      args: { ...cb, scope: r.scope, event: r.event, error: r.error },
      // A notifier reads only its own connection; a function callback what its task may read.
      grants: isFn ? r.task.grants : { connections: [cb.connection], variables: [] },
    };
    const environment = isFn && r.task.environment ? await deps.environment(r.task.environment, (line) => void pump.note(line)) : null;
    const built = await buildPayload(ctx, {
      run: r.run, dag: r.dag, task: operator, bundlePath: r.bundlePath, tryNumber: r.tryNumber, scratchDir,
      environment: environment ? { name: environment.name, root: environment.root } : null,
    });
    if (isFn) {
      built.payload.dagModule = r.bundlePath;
      built.readablePaths.push(r.bundlePath);
    }
    pump.useMasker(new Masker(built.payload.masks));
    await pump.note(`[airlock] ${name} of ${r.scope === "dag" ? `run ${r.run.runId}` : `try ${r.tryNumber}`}: starting`);
    const backendName: BackendName = isFn && r.isolation === "sandbox" ? "sandbox" : "process";
    const backend = await deps.backend(backendName);
    const running = await backend.launch({
      key: { dagId: r.run.dagId, runId: r.run.runId, taskId: `${r.task.id}.${r.event}`, tryNumber: r.tryNumber },
      payload: built.payload, tryDir: dir, rawLogPath, eventsPath, scratchDir, environment,
      resources: r.task.resources, network: isFn ? r.task.network : "host", readablePaths: built.readablePaths,
    });
    let killedFor: string | null = null;
    const timer = setTimeout(() => {
      killedFor = `execution timeout of ${CALLBACK_TIMEOUT_MS / 1000} s exceeded`;
      void running.kill(killedFor);
    }, CALLBACK_TIMEOUT_MS);
    const exit = await running.exited;
    clearTimeout(timer);
    await pump.finish();
    const result = decide({ events: readEvents(eventsPath), exit, scratchDir, killedFor });
    if (result.kind === "failed") {
      const message = pump.mask(`${result.error.type}: ${result.error.message}`);
      await pump.note(`[airlock] ${name} failed: ${message} (the task's state is unchanged)`);
      process.stderr.write(`airlock: the ${name} of ${r.dag.id}.${r.task.id} in run ${r.run.runId} failed: ${message}\n`);
    } else {
      await pump.note(`[airlock] ${name} done`);
    }
  } catch (err) {
    await pump.note(`[airlock] ${name} could not run: ${pump.mask((err as Error).message)} (the task's state is unchanged)`);
    throw err;
  } finally {
    await pump.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs DAG-level callbacks for a scheduler, in the background; `stop()` waits for those still running. */
export class DagCallbackRunner {
  private readonly backends: BackendRegistry;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly ctx: AirlockContext) {
    this.backends = new BackendRegistry(ctx.config);
  }

  /** Starts the request's callbacks; the returned promise ends with them (and never rejects). */
  run(r: CallbackRequest): Promise<void> {
    const p: Promise<void> = runCallbacks({
      ctx: this.ctx, backend: (name) => this.backends.get(name), environment: (name, log) => ensureEnvironment(this.ctx.config, name, log),
    }, r).finally(() => this.pending.delete(p));
    this.pending.add(p);
    return p;
  }

  /** Waits for running callbacks, then releases the backends. Idempotent. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.backends.close();
  }
}
