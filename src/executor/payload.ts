/** Assembles a try's payload: run context, upstream XComs, and only the connections/variables it may read. */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import type { SerializedDag, SerializedTask } from "../sdk/serialized.js";
import type { Connection } from "../sdk/types.js";
import type { AirlockContext } from "../core/context.js";
import { connectionSecrets, resolveConnection, resolveVariable } from "../core/connections.js";
import { formatDs } from "../scheduler/timetable.js";
import { extractReferences, templateStrings } from "../templating/index.js";
import { INLINE_RESULT_LIMIT, PROTOCOL_VERSION, type PayloadDatasets, type TaskPayload, type XComValue } from "../runner/protocol.js";
import type { DagRun } from "../store/types.js";
import { pythonCodeDir } from "../dagfiles/python-code.js";

/** Every task upstream of `taskId`, transitively. */
export function ancestors(dag: SerializedDag, taskId: string): string[] {
  const out = new Set<string>();
  const stack = [...(dag.tasks[taskId]?.upstream ?? [])];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...(dag.tasks[id]?.upstream ?? []));
  }
  return [...out];
}

/** The last upstream list parsed: every instance of a mapped task reads the same one (10,000 parses of it add up). */
let lastList: { key: string; json: string; list: unknown[] } | null = null;

/** The element a mapped instance gets; the scheduler checked the list when it expanded the task. */
function mappedItem(runId: string, upstream: string, json: string | undefined, mapIndex: number): unknown {
  const key = `${runId}\u0000${upstream}`;
  if (!lastList || lastList.key !== key || lastList.json !== json) {
    const list = json === undefined ? null : (JSON.parse(json) as unknown);
    if (!Array.isArray(list)) throw new Error(`the XCom of "${upstream}" is no longer the list this task was mapped over; clear the mapped task to expand it again`);
    lastList = { key, json: json as string, list };
  }
  if (mapIndex >= lastList.list.length) throw new Error(`map index ${mapIndex} is past the end of "${upstream}"'s list (${lastList.list.length} elements); clear the mapped task to expand it again`);
  return lastList.list[mapIndex];
}

/** The payload plus what the orchestrator needs to run it safely. */
export interface BuiltPayload {
  payload: TaskPayload;
  /** Files the task must be able to read (compiled DAG module, XCom references). */
  readablePaths: string[];
}

/** Builds the payload of one try. */
export async function buildPayload(ctx: AirlockContext, input: {
  run: DagRun; dag: SerializedDag; task: SerializedTask; bundlePath: string; tryNumber: number; scratchDir: string;
  environment: { name: string; root: string } | null;
  /** A mapped instance's index (absent or -1 for an unmapped task). */
  mapIndex?: number;
}): Promise<BuiltPayload> {
  const { run, dag, task } = input;
  const refs = extractReferences(templateStrings(task.args, task.templateFields));
  const upstream = [...new Set([...ancestors(dag, task.id), ...refs.xcomTasks.filter((t) => dag.tasks[t])])];
  const readablePaths: string[] = [];
  const xcom: Record<string, XComValue> = {};
  const stored = await ctx.store.getXcoms(run.runId, upstream);
  const mapIndex = input.mapIndex ?? -1;
  const item = task.mapOver && mapIndex >= 0 ? mappedItem(run.runId, task.mapOver, stored.get(task.mapOver), mapIndex) : undefined;
  for (const [taskId, json] of stored) {
    if (json.length < INLINE_RESULT_LIMIT) {
      xcom[taskId] = { inline: JSON.parse(json) as unknown };
      continue;
    }
    // Large values go by reference to a read-only file, written once per content.
    const sha256 = createHash("sha256").update(json).digest("hex");
    const file = path.join(ctx.config.stateDir, "xcom", `${sha256}.json`);
    if (!existsSync(file)) {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(`${file}.tmp`, json, { mode: 0o644 });
      renameSync(`${file}.tmp`, file);
    }
    readablePaths.push(file);
    xcom[taskId] = { ref: file, size: Buffer.byteLength(json), sha256 };
  }
  const connections: Record<string, Connection> = {};
  const variables: Record<string, string> = {};
  const masks: string[] = [];
  const missing = { connections: [] as string[], variables: [] as string[] };
  for (const id of new Set([...task.grants.connections, ...refs.connections])) {
    const c = await resolveConnection(ctx, id);
    if (!c) {
      missing.connections.push(id);
      continue;
    }
    connections[id] = c;
    masks.push(...connectionSecrets(c));
  }
  for (const name of new Set([...task.grants.variables, ...refs.variables])) {
    const v = await resolveVariable(ctx, name);
    if (!v) {
      missing.variables.push(name);
      continue;
    }
    variables[name] = v.value;
    if (v.isSecret) masks.push(v.value);
  }
  const needsModule = task.kind === "fn" || task.kind === "branch" || task.kind === "node";
  if (needsModule) readablePaths.push(input.bundlePath);
  const codeDir = task.kind === "python" && typeof task.args.code === "string" ? pythonCodeDir(path.dirname(input.bundlePath), task.args.code) : null;
  if (codeDir) readablePaths.push(codeDir);
  const payload: TaskPayload = {
    protocol: PROTOCOL_VERSION,
    dagId: dag.id,
    taskId: task.id,
    runId: run.runId,
    tryNumber: input.tryNumber,
    operator: task,
    dagModule: needsModule ? input.bundlePath : null,
    codeDir,
    context: {
      params: run.params,
      conf: run.conf,
      logicalDate: run.logicalDate,
      ds: formatDs(run.logicalDate, dag.timezone),
      ts: run.logicalDate,
      dataInterval: { start: run.dataIntervalStart, end: run.dataIntervalEnd },
      timezone: dag.timezone,
      runType: run.runType,
      scratchDir: input.scratchDir,
      environment: input.environment,
      ...(mapIndex >= 0 ? { mapIndex, item } : {}),
    },
    inputs: { xcom },
    grants: { connections, variables, missing },
    masks,
    nonce: randomBytes(16).toString("hex"),
  };
  return { payload, readablePaths };
}

/**
 * A python pipeline node's arguments: its callable gets `inputs` and `outputs` (dataset name → path, files in and
 * files out, as a command node) and its `params:` inputs by name, besides its own kwargs.
 */
export function pythonNodeArgs(task: SerializedTask, datasets: PayloadDatasets, params: Record<string, unknown>): Record<string, unknown> {
  const inputs: Record<string, unknown> = Object.fromEntries(Object.entries(datasets.inputs).map(([k, v]) => [k, v.path]));
  for (const name of task.datasets?.inputs ?? []) if (name.startsWith("params:")) inputs[name] = params[name.slice("params:".length)] ?? null;
  const outputs = Object.fromEntries(Object.entries(datasets.outputs).map(([k, v]) => [k, v.path]));
  return { ...task.args, kwargs: { ...((task.args.kwargs as Record<string, unknown> | undefined) ?? {}), inputs, outputs } };
}
