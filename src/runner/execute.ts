/** Runs one task from its payload and reports through an event channel (used by the runner and `inline`). */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { isDag } from "../sdk/dag.js";
import type { TaskContext } from "../sdk/types.js";
import { EventChannel } from "./channel.js";
import { grantsOf, renderedArgs, taskContext } from "./context.js";
import { INLINE_RESULT_LIMIT, PROTOCOL_VERSION, type ProtocolError, type TaskPayload, type XComValue } from "./protocol.js";

/** Exit codes of the runner. */
export const EXIT = { ok: 0, failed: 1, badPayload: 2 } as const;

/**
 * A stack trace as the task's author needs it: their own frames (the DAG file and line, through its source map)
 * without the frames of Airlock's runner and SDK (everything under `dist`) or of Node's internals.
 */
export function userStack(stack: string | undefined, dist: string): string | undefined {
  if (stack === undefined) return undefined;
  const dir = path.resolve(dist);
  const own = [pathToFileURL(dir).href + "/", dir + path.sep];
  return stack.split("\n").filter((line) => !(/^\s+at /.test(line) && (own.some((o) => line.includes(o)) || /[( ]node:internal\//.test(line)))).join("\n");
}

function toProtocolError(err: unknown, dist: string): ProtocolError {
  if (err instanceof Error) return { type: err.name || "Error", message: err.message, stack: userStack(err.stack, dist) };
  return { type: "Error", message: typeof err === "string" ? err : JSON.stringify(err) ?? String(err) };
}

/** Imports the compiled DAG module and returns the callable of this task. */
async function loadCallable(p: TaskPayload): Promise<(ctx: TaskContext, extra?: never) => unknown> {
  if (!p.dagModule) throw new Error(`task "${p.taskId}" needs its DAG module, but the payload names none`);
  const mod = (await import(pathToFileURL(p.dagModule).href)) as Record<string, unknown>;
  const d = Object.values(mod).flat().find((v) => isDag(v) && v.id === p.dagId);
  if (!isDag(d)) throw new Error(`the DAG module no longer defines DAG "${p.dagId}"`);
  const callable = d.task(p.taskId)?.spec.callable;
  if (typeof callable !== "function") throw new Error(`task "${p.taskId}" is not an fn/branch/node task in the DAG module of "${p.dagId}"`);
  return callable as (ctx: TaskContext) => unknown;
}

async function encodeResult(p: TaskPayload, value: unknown): Promise<XComValue> {
  const json = JSON.stringify(value === undefined ? null : value);
  if (json === undefined) return { inline: null };
  if (Buffer.byteLength(json) < INLINE_RESULT_LIMIT) return { inline: JSON.parse(json) as unknown };
  // Large results go by reference: a file in the scratch directory that the supervisor collects.
  const rel = path.join(".airlock", `result-${p.tryNumber}.json`);
  mkdirSync(path.join(p.context.scratchDir, ".airlock"), { recursive: true });
  writeFileSync(path.join(p.context.scratchDir, rel), json);
  const { createHash } = await import("node:crypto");
  return { ref: rel, size: Buffer.byteLength(json), sha256: createHash("sha256").update(json).digest("hex") };
}

let hooksRegistered = false;

/** Registers the module-resolution hooks once per process; `dist` holds runner-hooks.mjs and sdk/. */
export async function registerHooks(dist: string, environment: { name: string; root: string } | null): Promise<void> {
  if (hooksRegistered) return;
  hooksRegistered = true;
  const { register } = await import("node:module");
  register(pathToFileURL(path.join(dist, "runner-hooks.mjs")).href, {
    data: { sdkUrl: pathToFileURL(path.join(dist, "sdk", "index.js")).href, envRoot: environment?.root ?? null, envName: environment?.name ?? null },
  });
}

async function execute(p: TaskPayload, channel: EventChannel, dist: string): Promise<void> {
  // Hooks cost a loader thread: use them only to confine an environment, or where the compiled DAG module's
  // node_modules/airlock link is not visible (inside some sandboxes).
  const sdkLinked = p.dagModule !== null && existsSync(path.join(path.dirname(p.dagModule), "node_modules", "airlock", "package.json"));
  if (p.context.environment !== null || ((p.operator.kind === "fn" || p.operator.kind === "branch" || p.operator.kind === "node") && !sdkLinked)) await registerHooks(dist, p.context.environment);
  const grants = grantsOf(p);
  let args = await renderedArgs(p, grants);
  const kind = p.operator.kind;
  let value: unknown;
  let branchTo: string[] | null = null;
  switch (kind) {
    case "bash":
      // Operators load on demand: the runner's start-up is part of every try.
      if (p.operator.datasets) args = (await import("./operators/node.js")).commandArgs(p, args);
      value = await (await import("./operators/bash.js")).runBash(p, args);
      if (p.operator.datasets) (await import("./operators/node.js")).checkCommandOutputs(p);
      break;
    case "node": {
      const callable = (await loadCallable(p)) as unknown as (inputs: Record<string, unknown>, ctx: unknown) => unknown;
      value = await (await import("./operators/node.js")).runNode(p, callable, taskContext(p, grants));
      break;
    }
    case "fn":
      value = await (await loadCallable(p))(taskContext(p, grants));
      break;
    case "branch": {
      const chosen = await (await loadCallable(p))(taskContext(p, grants));
      branchTo = chosen === null || chosen === undefined ? [] : ([] as unknown[]).concat(chosen).map(String);
      const unknown = branchTo.filter((id) => !p.operator.downstream.includes(id));
      if (unknown.length > 0) throw new Error(`branch "${p.taskId}" returned ${unknown.join(", ")}, which ${unknown.length > 1 ? "are not direct successors" : "is not a direct successor"}; return one of ${p.operator.downstream.join(", ") || "(none)"}`);
      value = branchTo;
      break;
    }
    case "http":
      value = await (await import("./operators/http.js")).runHttp(args, grants.connection(String(args.connection)));
      break;
    case "file_sensor":
      value = await (await import("./operators/file-sensor.js")).runFileSensor(args);
      break;
    case "empty":
      value = null;
      break;
    case "callback":
      value = await (await import("./operators/callback.js")).runCallback(p, args as never, grants, taskContext(p, grants));
      break;
    case "external_task_sensor":
    case "trigger_dag":
    case "container":
    case "kubernetes_pod":
      throw new Error(`operator "${kind}" is run by the orchestrator, not the runner`);
    case "python":
      throw new Error(`operator "python" is run by the Python runner, not the Node runner (protocol ${PROTOCOL_VERSION})`);
    default:
      throw new Error(`operator "${String(kind)}" is unknown to this runner (protocol ${PROTOCOL_VERSION})`);
  }
  channel.emit({ type: "result", value: await encodeResult(p, value), branch: branchTo });
}

/** Runs the task and emits its result or error; returns the exit code the runner should end with. */
export async function runTask(payload: TaskPayload, channel: EventChannel, dist: string): Promise<number> {
  channel.emit({ type: "started", pid: process.pid, protocol: PROTOCOL_VERSION });
  try {
    await execute(payload, channel, dist);
    return EXIT.ok;
  } catch (err) {
    const error = toProtocolError(err, dist);
    if (error.type === "TaskSkipped") {
      process.stdout.write(`${error.message}\n`);
      channel.emit({ type: "result", value: { inline: null }, skipped: true });
      return EXIT.ok;
    }
    process.stderr.write(`${error.stack ?? `${error.type}: ${error.message}`}\n`);
    channel.emit({ type: "error", error });
    return EXIT.failed;
  }
}
