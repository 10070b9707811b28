/**
 * Supervises one try from launch (or adoption) to its recorded end: streams its log with secrets masked, enforces
 * its timeout, stops it when it is marked or cleared from outside, decides its outcome from the events channel,
 * applies retries, and hands branch decisions and completion to the scheduler. Every write about the try carries
 * the supervisor's fencing token; once another worker owns the try, this supervisor stops and writes nothing more.
 */
import { mkdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import type { SerializedDag, SerializedTask } from "../sdk/serialized.js";
import type { AirlockContext } from "../core/context.js";
import { logPath as finalLogPath, tryDir as tryDirOf } from "../core/paths.js";
import { Masker } from "../secrets/masker.js";
import type { Backend, ExitInfo, LaunchRequest, ResolvedEnvironment, RunningTry } from "../backends/types.js";
import type { BackendName } from "../sdk/types.js";
import type { DagRun, TaskState } from "../store/types.js";
import type { TryFence, TryOutcome } from "../store/store.js";
import { buildPayload, pythonNodeArgs } from "./payload.js";
import { LogPump } from "./log-pump.js";
import { LogShipper } from "./log-shipper.js";
import { decide, parseEvents, readEvents, type TryResult } from "./outcome.js";
import { pokeExternalTask } from "./external-sensor.js";
import { triggerOtherDag } from "./trigger-dag.js";
import { runCallbacks } from "./callbacks.js";
import { renderContainerArgs } from "./container-args.js";
import { renderedArgs } from "../runner/context.js";
import { effectiveLimits, memoryMiB } from "./resources.js";
import { scratchOverLimit } from "./scratch-watch.js";
import { scratchBytes } from "../environments/resources.js";
import path from "node:path";
import { parseDuration } from "../sdk/duration.js";
import { triggerSpecOf } from "../triggers/checks.js";
import { pokeTrigger } from "../triggers/poke.js";

/** What a supervisor needs from its executor. */
export interface SupervisorDeps {
  ctx: AirlockContext;
  backend(name: BackendName): Promise<Backend>;
  environment(name: string, log: (line: string) => void): Promise<ResolvedEnvironment>;
  /** Called after a sensor deferred (the trigger loop looks at once). */
  onDeferred?(): void;
  /** Called after the try's end (the scheduler evaluates the run at once); `recorded`: this supervisor wrote it. */
  onFinished(runId: string, recorded?: boolean): void;
  /** Milliseconds between log pumps. */
  pumpMs?: number;
  /** Aborted when the worker stops: the supervisor lets go of its try (left running for the next worker). */
  shutdown?: AbortSignal;
  /** True while the worker has been out of touch with the store so long that the fleet may count it lost. */
  fenced?(): boolean;
  /** Records a try's end (the executor batches them); @default the store's finishTry. */
  finishTry?(key: TryTarget, outcome: TryOutcome, fence: TryFence): Promise<boolean>;
}

/** The try to supervise. */
export interface TryTarget {
  dagId: string;
  runId: string;
  taskId: string;
  /** A mapped instance's index; -1 for an unmapped task. */
  mapIndex: number;
  tryNumber: number;
  isolation: BackendName;
  /** The worker's ownership of the try: every write is refused once another worker holds it. */
  fence: TryFence;
  /** When the try started (epoch ms), when the caller knows (it claimed it just now); else it is read from the store. */
  startedAt?: number;
}

/** Why a supervisor let go of a try it did not finish. */
type Released = "adopted" | "shutdown";

/** Error types a retry cannot fix: the task fails at once instead of burning its retries. */
const CONFIGURATION_ERRORS = new Set(["TemplateError", "NotGrantedError", "MissingValueError"]);

/** Retry delay of the try after `tryNumber` (exponential when asked, capped). */
export function retryDelayMs(task: SerializedTask, tryNumber: number): number {
  let delay = task.retryDelayMs;
  if (task.retryExponentialBackoff) delay = delay * 2 ** Math.max(0, tryNumber - 1);
  if (task.maxRetryDelayMs !== null) delay = Math.min(delay, task.maxRetryDelayMs);
  return Math.min(delay, 365 * 86_400_000);
}

interface Loaded {
  run: DagRun;
  dag: SerializedDag;
  task: SerializedTask;
  bundlePath: string;
}

async function load(ctx: AirlockContext, t: TryTarget): Promise<Loaded> {
  const run = await ctx.store.getRun(t.runId);
  if (!run) throw new Error(`run ${t.runId} vanished from the store`);
  const version = await ctx.store.getDagVersion(run.versionHash);
  const task = version?.serialized.tasks[t.taskId];
  if (!version || !task) throw new Error(`task ${t.taskId} is not in the DAG version of run ${t.runId}`);
  return { run, dag: version.serialized, task, bundlePath: version.bundlePath };
}

/** Runs (or adopts) one try to its recorded end. Never throws: failures become the try's outcome. */
export async function superviseTry(deps: SupervisorDeps, t: TryTarget, adopt: { handle: Record<string, unknown> | null } | null = null): Promise<void> {
  const { ctx } = deps;
  const dir = tryDirOf(ctx.config.stateDir, t);
  const scratchDir = path.join(dir, "scratch");
  const rawLogPath = path.join(dir, "output.log");
  const eventsPath = path.join(dir, "events.ndjson");
  const logFile = finalLogPath(ctx.config.stateDir, t);
  const shipper = new LogShipper(ctx.store, t, { restart: adopt !== null });
  const ship = (masked: string) => shipper.push(masked);
  const pump = new LogPump(rawLogPath, logFile, new Masker([]), { adopt: adopt !== null, maxBytes: ctx.config.logs.maxBytesPerTry, ship });
  let loaded: Loaded | undefined;
  let result: TryResult;
  let exitCode: number | null = null;
  let memoryLimit: number | null = null;
  let firstPokeAt: string | null = null;
  try {
    loaded = await load(ctx, t);
    const { task } = loaded;
    firstPokeAt = isRescheduling(task) ? (await ctx.store.firstPokeOf(t)) ?? new Date().toISOString() : null;
    // Only a rescheduled sensor's next poke continues a log its try already shipped.
    if (!adopt && !isRescheduling(task)) shipper.nothingShippedYet();
    if (isDeferrable(task)) {
      // Handed to the trigger loop: no process starts, the slot is freed, the try waits as "deferred".
      if (await defer(deps, t, loaded, scratchDir, pump, shipper)) {
        rmSync(dir, { recursive: true, force: true });
        deps.onFinished(t.runId, true);
        return;
      }
      result = { kind: "failed", error: { type: "TaskKilled", message: "the task instance was marked or cleared before it could defer" } };
    } else if (task.kind === "time_sensor" || task.kind === "http_sensor") {
      const built = await buildPayload(ctx, { run: loaded.run, dag: loaded.dag, task, bundlePath: loaded.bundlePath, tryNumber: t.tryNumber, mapIndex: t.mapIndex, scratchDir, environment: null });
      pump.useMasker(new Masker(built.payload.masks));
      const spec = triggerSpecOf(task, await renderedArgs(built.payload), loaded.run, firstPokeAt ? Date.parse(firstPokeAt) : Date.now());
      result = await pokeTrigger(ctx, spec, firstPokeAt !== null, (line) => void pump.note(line), () => stillOurs(ctx, t));
    } else if (task.kind === "external_task_sensor") {
      result = await pokeExternalTask(ctx, loaded.run, task, (line) => void pump.note(line), () => stillOurs(ctx, t), firstPokeAt);
    } else if (task.kind === "trigger_dag") {
      result = await triggerOtherDag(ctx, { ...loaded, tryNumber: t.tryNumber, scratchDir }, (line) => void pump.note(line), () => stillOurs(ctx, t));
    } else {
      const environment = task.environment && t.isolation !== "docker" && t.isolation !== "kubernetes"
        ? await deps.environment(task.environment, (line) => void pump.note(line))
        : null;
      const dockerEnvironment = task.environment && (t.isolation === "docker" || t.isolation === "kubernetes")
        ? await deps.environment(task.environment, (line) => void pump.note(line)) : null;
      const built = await buildPayload(ctx, {
        run: loaded.run, dag: loaded.dag, task, bundlePath: loaded.bundlePath, tryNumber: t.tryNumber, mapIndex: t.mapIndex, scratchDir,
        environment: environment ? { name: environment.name, root: environment.root } : null,
      });
      if (task.datasets) {
        // Exactly the node's inputs become readable to it; its outputs are collected after it succeeded.
        const { stageInputs } = await import("../datasets/flow.js");
        const staged = await stageInputs(ctx, { run: loaded.run, dag: loaded.dag, task, tryDir: dir, scratchDir });
        built.payload.datasets = staged.datasets;
        built.readablePaths.push(...staged.readable);
        if (task.kind === "python") {
          // The Python runner knows no datasets: its callable gets the paths, and the outputs' directory exists.
          built.payload.operator = { ...built.payload.operator, args: pythonNodeArgs(task, staged.datasets, loaded.run.params) };
          mkdirSync(path.join(scratchDir, ".airlock", "out"), { recursive: true });
        }
      }
      if (firstPokeAt) built.payload.operator = { ...built.payload.operator, args: { ...built.payload.operator.args, firstPokeAt } };
      const masks = [...built.payload.masks];
      if (task.kind === "python") {
        // The Python runner has no template engine: kwargs are rendered here, with the task's grants only.
        built.payload.operator = { ...task, args: await renderedArgs(built.payload), templateFields: [] };
      } else if (task.kind === "container" || task.kind === "kubernetes_pod") {
        const rendered = await renderContainerArgs(built.payload);
        built.payload.operator = { ...task, args: rendered.args };
        masks.push(...rendered.secrets);
        built.payload.masks = masks;
      }
      pump.useMasker(new Masker(masks));
      const backend = await deps.backend(t.isolation);
      const limits = effectiveLimits(ctx.config, task);
      const request: LaunchRequest = {
        key: t, payload: built.payload, tryDir: dir, rawLogPath, eventsPath, scratchDir,
        environment: environment ?? dockerEnvironment, resources: limits.resources, network: limits.network,
        readablePaths: built.readablePaths, reuse: limits.reuse,
      };
      memoryLimit = memoryMiB(limits.resources?.memory);
      let running: RunningTry | null;
      let owned = true;
      const header = `[airlock] ${t.dagId}.${t.taskId}${t.mapIndex >= 0 ? `[${t.mapIndex}]` : ""} try ${t.tryNumber} on ${t.isolation}${environment ? ` in environment ${environment.name} (${environment.key.slice(0, 12)})` : ""}`;
      if (adopt) {
        // The log is rebuilt from the raw output after a restart; the orchestrator's own first line is not in it.
        void pump.note(`${header} (adopted after an orchestrator restart)`);
        running = await backend.adopt({ backend: t.isolation, tryDir: dir, ...(adopt.handle ?? {}) }, request);
      } else {
        void pump.note(header);
        running = await backend.launch(request);
        if (running.handle.reused === true) {
          pump.cannotBeAdopted();
          void pump.note(reusedNote(t.isolation, running.handle, environment?.name ?? null));
        } else if (typeof running.handle.reuseSkipped === "string") void pump.note(`[airlock] ${running.handle.reuseSkipped}`);
        else if (limits.reuse) void pump.note(`[airlock] reuse: true does not apply to ${task.kind === "python" ? "python tasks" : `the ${t.isolation} backend`}: this try ran in a process of its own`);
        owned = await ctx.store.setTryHandle(t, running.handle, t.fence);
      }
      if (!owned && running) {
        // Another worker took the try over (or it was ended as lost) while it launched: this launch must not run.
        await running.kill("the try is owned by another worker");
        await running.exited;
        rmSync(dir, { recursive: true, force: true });
        return;
      }
      // Host-side scratch directories are measured; a pod's is bounded by its emptyDir's sizeLimit.
      const scratch = t.isolation === "process" || t.isolation === "sandbox" || t.isolation === "docker" ? { dir: scratchDir, bytes: scratchBytes(limits.resources) } : null;
      const watched = running ? await watch(deps, t, task, running, pump, scratch) : { exit: { code: null, signal: null, detail: "the try ended while the orchestrator was down" } as ExitInfo, killedFor: null, released: null };
      if (watched.released) {
        // Left running for the next owner: its files stay, nothing is recorded, the log is not touched again.
        if (watched.released === "shutdown") await pump.pump();
        return;
      }
      const { exit } = watched;
      // A task that filled its scratch between two measurements and ended fails all the same.
      const killedFor = watched.killedFor ?? (scratch ? await scratchOverLimit(scratch.dir, scratch.bytes) : null);
      exitCode = exit.code;
      await pump.finish();
      const events = running?.events ? parseEvents(running.events()) : readEvents(eventsPath);
      result = decide({ events, exit, scratchDir, killedFor, memoryLimitMiB: memoryLimit });
      if (result.kind === "success" && task.datasets) {
        const { publishOutputs } = await import("../datasets/flow.js");
        await publishOutputs(ctx, { run: loaded.run, dag: loaded.dag, task, scratchDir, tryNumber: t.tryNumber });
      }
      if (firstPokeAt && result.kind === "failed" && result.error.type === "SensorReschedule") result = { kind: "reschedule", reason: result.error.message };
    }
  } catch (err) {
    result = { kind: "failed", error: { type: (err as Error).name || "Error", message: (err as Error).message, stack: (err as Error).stack } };
  }
  let taskState: TaskState | null = null;
  try {
    if (result.kind === "reschedule" && loaded && firstPokeAt) await reschedule(deps, t, loaded.task, result.reason, firstPokeAt, pump, shipper);
    else taskState = await record(deps, t, loaded, result, exitCode, pump, shipper);
  } finally {
    // Normally already closed before the try was recorded; this stops its timer when recording failed.
    await pump.close();
    await shipper.close();
  }
  // The next tries go first: the folder is removed in the background (awaited before this supervisor ends).
  deps.onFinished(t.runId, taskState !== null);
  const removed = rm(dir, { recursive: true, force: true }).catch(() => undefined);
  const event = taskState === "success" ? "onSuccess" : taskState === "failed" ? "onFailure" : taskState === "up_for_retry" ? "onRetry" : null;
  if (event && loaded && loaded.task.callbacks?.[event]) {
    const error = result.kind === "failed" ? { type: result.error.type, message: pump.mask(result.error.message) } : null;
    await runCallbacks(deps, { scope: "task", event, ...loaded, tryNumber: t.tryNumber, isolation: t.isolation, error });
  }
  await removed;
}

/** The log line that says a try ran in a reused runner, and what that means. */
function reusedNote(isolation: string, handle: Record<string, unknown>, environment: string | null): string {
  const n = typeof handle.runnerTry === "number" ? handle.runnerTry : 0;
  const what = isolation === "sandbox" ? "sandbox and runner" : "process";
  return `[airlock] isolation: ${isolation} (reused): runner pid ${String(handle.pid)}, its try number ${n}; tries of ${environment ? `environment ${environment}` : "tasks without an environment"} that declare reuse share this ${what} (module state, memory, process environment)`;
}

const SENSOR_KINDS = new Set(["file_sensor", "external_task_sensor", "time_sensor", "http_sensor"]);

/** A sensor that frees its slot between pokes. */
function isRescheduling(task: SerializedTask): boolean {
  return SENSOR_KINDS.has(task.kind) && (task.args as { mode?: unknown }).mode === "reschedule";
}

/** A sensor that hands its wait to the trigger loop. */
function isDeferrable(task: SerializedTask): boolean {
  return SENSOR_KINDS.has(task.kind) && (task.args as { mode?: unknown }).mode === "deferrable";
}

/**
 * Renders the sensor's arguments (its templates, with its grants only) into a declarative trigger and parks the try
 * as deferred; false when the instance was no longer running. Its log says what it waits for.
 */
async function defer(deps: SupervisorDeps, t: TryTarget, loaded: Loaded, scratchDir: string, pump: LogPump, shipper: LogShipper): Promise<boolean> {
  const { ctx } = deps;
  const built = await buildPayload(ctx, { run: loaded.run, dag: loaded.dag, task: loaded.task, bundlePath: loaded.bundlePath, tryNumber: t.tryNumber, mapIndex: t.mapIndex, scratchDir, environment: null });
  pump.useMasker(new Masker(built.payload.masks));
  const startedAt = Date.parse((await ctx.store.getTry(t))?.startedAt ?? new Date().toISOString());
  const spec = triggerSpecOf(loaded.task, await renderedArgs(built.payload), loaded.run, startedAt);
  await pump.note(`[airlock] ${t.dagId}.${t.taskId}${t.mapIndex >= 0 ? `[${t.mapIndex}]` : ""} try ${t.tryNumber} deferred: waiting for ${pump.mask(spec.target)} (checked every ${spec.pokeIntervalMs / 1000} s until ${spec.deadline}) by the orchestrator's trigger loop, without a process or a slot`);
  await pump.finish();
  await pump.close();
  await shipper.close();
  const ok = await ctx.store.deferTry(t, spec as unknown as Record<string, unknown>, t.fence.workerId);
  if (ok) deps.onDeferred?.();
  return ok;
}

async function reschedule(deps: SupervisorDeps, t: TryTarget, task: SerializedTask, reason: string, firstPokeAt: string, pump: LogPump, shipper: LogShipper): Promise<void> {
  const interval = parseDuration((task.args as { pokeInterval?: string | number }).pokeInterval ?? "30s", "pokeInterval");
  const next = new Date(Date.now() + interval).toISOString();
  await pump.note(`[airlock] try ${t.tryNumber} rescheduled: ${pump.mask(reason)}; next poke at ${next}`);
  await shipper.close();
  await deps.ctx.store.rescheduleTry(t, next, firstPokeAt);
}

/** Whose the try is now: this supervisor's, another worker's (adopted), or nobody's (ended, marked or cleared). */
async function ownership(ctx: AirlockContext, t: TryTarget): Promise<"ours" | "adopted" | "ended"> {
  const [ti, row] = await Promise.all([ctx.store.getTaskInstance(t.runId, t.taskId, t.mapIndex), ctx.store.getTry(t)]);
  if (row?.state === "running" && (row.workerId !== t.fence.workerId || row.epoch !== t.fence.epoch)) return "adopted";
  return ti?.state === "running" && ti.tryNumber === t.tryNumber && row?.state === "running" ? "ours" : "ended";
}

async function stillOurs(ctx: AirlockContext, t: TryTarget): Promise<boolean> {
  return (await ownership(ctx, t)) === "ours";
}

async function watch(deps: SupervisorDeps, t: TryTarget, task: SerializedTask, running: RunningTry, pump: LogPump, scratch: { dir: string; bytes: number } | null): Promise<{ exit: ExitInfo; killedFor: string | null; released: Released | null }> {
  let startedAt = t.startedAt;
  if (startedAt === undefined) {
    const tryRow = await deps.ctx.store.getTry(t);
    startedAt = tryRow ? Date.parse(tryRow.startedAt) : Date.now();
  }
  let killedFor: string | null = null;
  let released: Released | null = null;
  let ended = false;
  const every = deps.pumpMs ?? 100;
  let ticks = 0;
  // The monitor sleeps between ticks, but never past the try's exit: the next task must not wait for a timer.
  let stopSleep: () => void = () => undefined;
  // A task writing faster than one pump's budget gets the next pump at once, not after the sleep.
  let more = false;
  let measuring = false;
  const loop = (async () => {
    while (!ended) {
      if (!more) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, every);
          stopSleep = () => {
            clearTimeout(timer);
            r();
          };
        });
      }
      if (ended) break;
      if (deps.shutdown?.aborted && t.isolation !== "inline") {
        // The worker is stopping: the try's process, sandbox or container outlives it and is adopted later.
        released = "shutdown";
        break;
      }
      more = await pump.pump();
      ticks++;
      if (killedFor) continue;
      if (deps.shutdown?.aborted) {
        killedFor = "the orchestrator shut down while the try ran (inline tries cannot outlive it)";
        await running.kill(killedFor);
      } else if (deps.fenced?.()) {
        killedFor = "this worker lost touch with the store for longer than executor.workerTimeoutMs allows, so the try may be retried elsewhere: it was stopped";
        await running.kill(killedFor);
      } else if (task.executionTimeoutMs !== null && Date.now() - startedAt > task.executionTimeoutMs) {
        killedFor = `execution timeout of ${task.executionTimeoutMs / 1000} s exceeded: the task and every process it started were killed`;
        await running.kill(killedFor);
      } else if (ticks % Math.max(1, Math.round(1000 / every)) === 0) {
        const now = await ownership(deps.ctx, t).catch(() => "ours" as const);
        if (now === "adopted") {
          released = "adopted";
          break;
        }
        if (now === "ended") {
          killedFor = "the task instance was marked or cleared (or its try ended as lost) while it ran: the try was stopped";
          await running.kill(killedFor);
        }
      }
      if (scratch && !measuring && !killedFor && ticks % Math.max(1, Math.round(500 / every)) === 0) {
        // Measured beside the loop, never in its way: a big scratch tree must not slow the log pump.
        measuring = true;
        void scratchOverLimit(scratch.dir, scratch.bytes).then(async (why) => {
          if (why && !killedFor && !ended) {
            killedFor = why;
            await running.kill(why);
          }
        }).catch(() => undefined).finally(() => (measuring = false));
      }
    }
  })();
  const exit = await Promise.race([running.exited, loop.then(() => null)]);
  ended = true;
  stopSleep();
  await loop;
  if (released) return { exit: { code: null, signal: null }, killedFor: null, released };
  return { exit: exit ?? (await running.exited), killedFor, released: null };
}

/** Records the try's end; returns the state its task instance moved to (null when it was no longer running). */
async function record(deps: SupervisorDeps, t: TryTarget, loaded: Loaded | undefined, result: TryResult, exitCode: number | null, pump: LogPump, shipper: LogShipper): Promise<TaskState | null> {
  const { store } = deps.ctx;
  // Only a rescheduling sensor may be parked; anything else asking for it has failed.
  if (result.kind === "reschedule") result = { kind: "failed", error: { type: "SensorReschedule", message: result.reason } };
  // Only a failure asks how many tries the instance has (a clear may have given it more meanwhile).
  const ti = result.kind === "failed" ? await store.getTaskInstance(t.runId, t.taskId, t.mapIndex) : undefined;
  let outcome: TryOutcome;
  if (result.kind === "success") {
    // A secret the task printed last or returned must not reach the store, the CLI or the UI through its XCom.
    outcome = { state: "success", taskState: "success", exitCode, error: null, xcomJson: pump.maskJson(result.xcomJson) };
    await pump.note(`[airlock] try ${t.tryNumber} succeeded`);
  } else if (result.kind === "skipped") {
    outcome = { state: "skipped", taskState: "skipped", exitCode, error: null };
    await pump.note(`[airlock] try ${t.tryNumber} skipped: ${result.reason}`);
  } else {
    // A try stopped by hand (marked/cleared) is not retried; one stopped by a shutdown is. Neither is a configuration
    // error that the next try would hit again (a template, a grant, a missing variable or connection).
    const configError = CONFIGURATION_ERRORS.has(result.error.type);
    const canRetry = loaded !== undefined && ti !== undefined && t.tryNumber < ti.maxTries && result.error.type !== "TaskKilled" && !configError;
    const delay = loaded && canRetry ? retryDelayMs(loaded.task, t.tryNumber) : 0;
    const taskState: TaskState = canRetry ? "up_for_retry" : "failed";
    const masker = (text: string) => pump.mask(text);
    const error = { type: result.error.type, message: masker(result.error.message), stack: result.error.stack ? masker(result.error.stack) : undefined };
    outcome = { state: "failed", taskState, exitCode, error, notBefore: canRetry ? new Date(Date.now() + delay).toISOString() : null };
    const retryNote = canRetry ? ` (retry ${t.tryNumber + 1} of ${ti?.maxTries} in ${delay < 10_000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`})`
      : configError && ti !== undefined && t.tryNumber < ti.maxTries ? " (not retried: a configuration error fails the same way on every try; fix it and clear the task)" : "";
    await pump.note(`[airlock] try ${t.tryNumber} failed: ${error.type}: ${error.message}${retryNote}`);
  }
  // The whole log is in the store when the try counts as ended (its last piece goes in the same transaction): a
  // worker that dies later loses none of it.
  const logTail = await shipper.detachTail();
  let finished: boolean;
  try {
    finished = await (deps.finishTry ? deps.finishTry(t, { ...outcome, logTail }, t.fence) : store.finishTry(t, { ...outcome, logTail }, t.fence));
  } catch (err) {
    if (logTail) shipper.giveBack(logTail);
    throw err;
  }
  if (!finished) {
    await pump.note(`[airlock] this worker no longer owns try ${t.tryNumber}: its outcome above was not recorded`);
    return null;
  }
  if (result.kind === "success" && result.branch && loaded) {
    for (const next of loaded.task.downstream) {
      if (!result.branch.includes(next)) await store.transitionTask(t.runId, next, ["none", "scheduled"], { state: "skipped", endDate: new Date().toISOString() });
    }
  }
  return finished ? outcome.taskState : null;
}
