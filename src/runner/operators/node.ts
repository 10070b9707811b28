/**
 * Pipeline nodes inside the sealed environment: a `run` node gets its inputs loaded by type and returns its outputs,
 * which are written where the orchestrator collects them; a `command` node sees its datasets as file paths.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { TaskContext } from "../../sdk/types.js";
import { PARAMS_PREFIX } from "../../sdk/catalog.js";
import type { PayloadDataset, TaskPayload } from "../protocol.js";
import { formatCsv, parseCsv } from "./csv.js";

/** A node did not return a declared output, or returned one of the wrong shape. */
export class DatasetOutputError extends Error {
  override name = "DatasetOutputError";
}

function load(name: string, d: PayloadDataset): unknown {
  try {
    if (d.type === "file" || d.type === "folder") return d.path;
    const text = readFileSync(d.path, "utf8");
    if (d.type === "text") return text;
    if (d.type === "csv") return parseCsv(text);
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`cannot read input dataset "${name}" (${d.type}): ${(err as Error).message}`, { cause: err });
  }
}

function save(node: string, name: string, d: PayloadDataset, value: unknown): void {
  mkdirSync(path.dirname(d.path), { recursive: true });
  if (d.type === "file" || d.type === "folder") {
    // The node either wrote ctx.outputs[name] itself or returns the path of what it made.
    if (typeof value === "string" && path.resolve(value) !== path.resolve(d.path)) cpSync(value, d.path, { recursive: d.type === "folder" });
    if (!existsSync(d.path)) throw new DatasetOutputError(`node "${node}" did not produce its ${d.type} output "${name}": write it to ctx.outputs.${name} or return the path of what you made`);
    return;
  }
  if (d.type === "text") {
    if (typeof value !== "string") throw new DatasetOutputError(`node "${node}" returned ${typeof value} for its text output "${name}": return a string`);
    writeFileSync(d.path, value);
  } else if (d.type === "csv") {
    try {
      writeFileSync(d.path, formatCsv(value));
    } catch (err) {
      throw new DatasetOutputError(`node "${node}" output "${name}": ${(err as Error).message}`, { cause: err });
    }
  } else writeFileSync(d.path, JSON.stringify(value));
}

/** Runs a `run` node: loads inputs, calls it, writes every declared output; the XCom lists the outputs written. */
export async function runNode(p: TaskPayload, callable: (inputs: Record<string, unknown>, ctx: unknown) => unknown, ctx: TaskContext): Promise<unknown> {
  const declared = p.operator.datasets ?? { inputs: [], outputs: [] };
  const ds = p.datasets ?? { inputs: {}, outputs: {} };
  const inputs: Record<string, unknown> = {};
  for (const name of declared.inputs) {
    if (name.startsWith(PARAMS_PREFIX)) inputs[name] = p.context.params[name.slice(PARAMS_PREFIX.length)];
    else inputs[name] = load(name, ds.inputs[name] as PayloadDataset);
  }
  const outputs = Object.fromEntries(Object.entries(ds.outputs).map(([k, v]) => [k, v.path]));
  // A file or folder output may be written straight to its path: its directory must exist.
  for (const p of Object.values(outputs)) mkdirSync(path.dirname(p), { recursive: true });
  const returned = await callable(inputs, { ...ctx, outputs });
  const values = (returned ?? {}) as Record<string, unknown>;
  if (typeof values !== "object" || Array.isArray(values)) throw new DatasetOutputError(`node "${p.taskId}" must return an object of outputs by name, got ${Array.isArray(values) ? "an array" : typeof values}`);
  for (const key of Object.keys(values)) {
    if (!declared.outputs.includes(key)) throw new DatasetOutputError(`node "${p.taskId}" returned "${key}", which is not one of its outputs (${declared.outputs.join(", ") || "none"}): declare it in outputs`);
  }
  for (const name of declared.outputs) {
    const d = ds.outputs[name] as PayloadDataset;
    if (!(name in values) && d.type !== "file" && d.type !== "folder") throw new DatasetOutputError(`node "${p.taskId}" did not return its declared output "${name}": return { ${name}: ... }`);
    save(p.taskId, name, d, values[name]);
  }
  // The XCom shows small json/text outputs as they are (handy in the UI and `dags test`); others by name only.
  const shown: Record<string, unknown> = {};
  for (const name of declared.outputs) {
    const v = values[name];
    const json = v === undefined ? undefined : JSON.stringify(v);
    shown[name] = json !== undefined && json.length <= 1024 && ["json", "text"].includes((ds.outputs[name] as PayloadDataset).type) ? v : null;
  }
  return shown;
}

/** Environment variable naming a dataset's path for a `command` node, e.g. AIRLOCK_INPUT_RAW_TRIPS. */
export function datasetVariable(kind: "INPUT" | "OUTPUT", name: string): string {
  return `AIRLOCK_${kind}_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** The bash arguments of a `command` node with its datasets' paths in its environment. */
export function commandArgs(p: TaskPayload, args: Record<string, unknown>): Record<string, unknown> {
  const ds = p.datasets ?? { inputs: {}, outputs: {} };
  const env: Record<string, string> = { ...((args.env as Record<string, string> | undefined) ?? {}) };
  for (const [name, d] of Object.entries(ds.inputs)) env[datasetVariable("INPUT", name)] = d.path;
  for (const [name, d] of Object.entries(ds.outputs)) {
    env[datasetVariable("OUTPUT", name)] = d.path;
    mkdirSync(path.dirname(d.path), { recursive: true });
  }
  for (const name of p.operator.datasets?.inputs ?? []) {
    if (name.startsWith(PARAMS_PREFIX)) env[datasetVariable("INPUT", name)] = JSON.stringify(p.context.params[name.slice(PARAMS_PREFIX.length)] ?? null);
  }
  return { ...args, env };
}

/** Fails a `command` node that exited 0 without writing every declared output. */
export function checkCommandOutputs(p: TaskPayload): void {
  for (const [name, d] of Object.entries(p.datasets?.outputs ?? {})) {
    if (!existsSync(d.path)) throw new DatasetOutputError(`node "${p.taskId}" did not produce its declared output "${name}": write it to $${datasetVariable("OUTPUT", name)}`);
  }
}
