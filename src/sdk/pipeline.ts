/**
 * Pipelines: nodes with named inputs and outputs, compiled into a DAG with one sealed task per node and edges
 * from datasets (seed 004's idea, without a generated file). No I/O: catalog checks that need `catalog.yaml`
 * happen where the DAG file is parsed.
 */
import { currentDag, dag, Dag, type DagOptions, type Task } from "./dag.js";
import { checkCatalog, DATASET_NAME, PARAMS_PREFIX, type Catalog } from "./catalog.js";
import { parseDuration, type Duration } from "./duration.js";
import { DagDefinitionError } from "./errors.js";
import { checkTaskOptions, externalTaskSensor } from "./operators.js";
import type { OperatorSpec } from "./operator-spec.js";
import type { TaskContext, TaskOptions } from "./types.js";

const NODE_BRAND = Symbol.for("airlock.pipeline.node");
const PIPELINE_BRAND = Symbol.for("airlock.pipeline");

/** What a `run` node receives besides its loaded inputs. */
export interface NodeContext extends TaskContext {
  /** Where a `file` or `folder` output must be written (or return a path to copy from). */
  outputs: Record<string, string>;
}

/** Options of `node()`: exactly one of `run`, `python` or `command`, plus any task option except `id`. */
export interface NodeOptions extends Omit<TaskOptions, "id"> {
  /** Node name, unique in its pipeline; it becomes the task id (namespaced as `ns.name`). */
  name: string;
  /** Datasets (or `params:<name>`) the node reads. */
  inputs?: string | string[];
  /** Datasets the node writes; each must be produced. */
  outputs?: string | string[];
  /** Gets the loaded inputs by name; returns the outputs by name (json, text, csv values; paths for file/folder). */
  run?: (inputs: Record<string, any>, ctx: NodeContext) => Record<string, unknown> | void | Promise<Record<string, unknown> | void>;
  /** A Python callable "file.py:function" (relative to the DAG file), run as a `python` task. */
  python?: string;
  /** Keyword arguments of a `python` node (templated). */
  kwargs?: Record<string, unknown>;
  /** A bash command: inputs are files at $AIRLOCK_INPUT_<NAME>, outputs go to $AIRLOCK_OUTPUT_<NAME>. */
  command?: string;
  /** Free-form tags; `resources:<profile>` picks a resource profile. */
  tags?: string[];
}

/** A node as recorded by `node()`. */
export interface PipelineNode {
  readonly [NODE_BRAND]: true;
  name: string;
  inputs: string[];
  outputs: string[];
  options: NodeOptions;
}

/** A kedro-style external dependency: wait for another DAG's run (or one of its tasks) before the first nodes. */
export interface ExternalDependency {
  dagId: string;
  taskId?: string;
  /** Fail the pipeline when the other DAG has not finished by then. @default "1d" */
  timeout?: Duration;
  /** Fail at once when the other DAG does not exist. @default true */
  checkExistence?: boolean;
  /** Look at the other DAG's run this long before this run's logical date. @default 0 */
  executionDelta?: Duration;
}

/** Options of a sub-pipeline (no id): a namespace prefixes node and dataset names, except the listed ones. */
export interface FragmentOptions {
  namespace?: string;
  /** Datasets read from outside the namespace, kept unprefixed. */
  inputs?: string[];
  /** Datasets written for outside the namespace, kept unprefixed. */
  outputs?: string[];
}

/** Options of a pipeline that is a DAG. */
export interface PipelineOptions extends DagOptions, FragmentOptions {
  /** Catalog entries of this pipeline; they win over `catalog.yaml` at the project root. */
  catalog?: Catalog;
  externalDependencies?: ExternalDependency[];
}

/** A pipeline without an id: a group of nodes to put into other pipelines. */
export interface Pipeline {
  readonly [PIPELINE_BRAND]: true;
  nodes: PipelineNode[];
}

/** What a pipeline DAG records for the serializer: its catalog and external dependencies. */
export interface PipelineInfo {
  catalog: Catalog;
  nodes: PipelineNode[];
}

const FRAGMENT_KEYS = ["namespace", "inputs", "outputs"];

function names(where: string, field: string, v: unknown): string[] {
  const list = v === undefined ? [] : typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) throw new DagDefinitionError(`${where}: ${field} must be a dataset name or an array of them`, field);
  for (const n of list) {
    const bare = n.startsWith(PARAMS_PREFIX) ? n.slice(PARAMS_PREFIX.length) : n;
    if (!DATASET_NAME.test(bare)) throw new DagDefinitionError(`${where}: ${field} "${n}" is not a dataset name; use letters, digits, "_", "-" and "."`, field);
    if (field === "outputs" && n.startsWith(PARAMS_PREFIX)) throw new DagDefinitionError(`${where}: output "${n}": params are read-only; write a dataset instead`, field);
  }
  if (new Set(list).size !== list.length) throw new DagDefinitionError(`${where}: ${field} names a dataset twice`, field);
  return list;
}

/** Declares a pipeline node. */
export function node(options: NodeOptions): PipelineNode {
  if (typeof options !== "object" || options === null) throw new DagDefinitionError("node(): expected an options object with a name", "options");
  const where = `node("${String(options.name)}")`;
  if (typeof options.name !== "string" || !DATASET_NAME.test(options.name)) throw new DagDefinitionError(`${where}: name is required: letters, digits, "_", "-" and "."`, "name");
  const { name, inputs, outputs, run, python, kwargs, command, tags, ...common } = options;
  checkTaskOptions(where, { id: name, ...common }, []);
  const bodies = [run !== undefined && "run", python !== undefined && "python", command !== undefined && "command"].filter(Boolean);
  if (bodies.length !== 1) throw new DagDefinitionError(`${where}: give exactly one of run (a function), python ("file.py:function") or command (bash)`, "run");
  if (run !== undefined && typeof run !== "function") throw new DagDefinitionError(`${where}: run must be a function (inputs, ctx) => outputs`, "run");
  if (python !== undefined && (typeof python !== "string" || !/^[^:]+\.py:[A-Za-z_]\w*$/.test(python))) throw new DagDefinitionError(`${where}: python must be "file.py:function", got ${JSON.stringify(python)}`, "python");
  if (command !== undefined && (typeof command !== "string" || command.trim() === "")) throw new DagDefinitionError(`${where}: command must be a non-empty bash command`, "command");
  if (kwargs !== undefined && python === undefined) throw new DagDefinitionError(`${where}: kwargs apply only to python nodes`, "kwargs");
  if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === "string"))) throw new DagDefinitionError(`${where}: tags must be an array of strings`, "tags");
  return { [NODE_BRAND]: true, name, inputs: names(where, "inputs", inputs), outputs: names(where, "outputs", outputs), options };
}

function isNode(v: unknown): v is PipelineNode {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[NODE_BRAND] === true;
}

function isFragment(v: unknown): v is Pipeline {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[PIPELINE_BRAND] === true;
}

/** The pipeline recorded on a pipeline DAG, or undefined for a plain DAG. */
export function pipelineOf(d: Dag): PipelineInfo | undefined {
  return (d as unknown as Record<symbol, PipelineInfo | undefined>)[PIPELINE_BRAND];
}

function flatten(where: string, items: unknown, o: FragmentOptions): PipelineNode[] {
  if (!Array.isArray(items)) throw new DagDefinitionError(`${where}: the second argument must be an array of node() and pipeline() values`, "nodes");
  const out: PipelineNode[] = [];
  for (const item of items) {
    if (isNode(item)) out.push(item);
    else if (isFragment(item)) out.push(...item.nodes);
    else if (item instanceof Dag && pipelineOf(item)) out.push(...(pipelineOf(item) as PipelineInfo).nodes);
    else throw new DagDefinitionError(`${where}: every element must be a node() or a pipeline(), got ${typeof item}`, "nodes");
  }
  if (o.namespace === undefined) return out;
  if (typeof o.namespace !== "string" || !DATASET_NAME.test(o.namespace)) throw new DagDefinitionError(`${where}: namespace must be letters, digits, "_", "-" and "."`, "namespace");
  const keep = new Set([...(o.inputs ?? []), ...(o.outputs ?? [])]);
  const prefix = (d: string) => (d.startsWith(PARAMS_PREFIX) || keep.has(d) ? d : `${o.namespace}.${d}`);
  return out.map((n) => ({ ...n, name: `${o.namespace}.${n.name}`, inputs: n.inputs.map(prefix), outputs: n.outputs.map(prefix) }));
}

/** Checks names, writers and cycles; returns the producer of each dataset. */
function checkGraph(where: string, nodes: PipelineNode[]): Map<string, string> {
  const seen = new Set<string>();
  const producer = new Map<string, string>();
  for (const n of nodes) {
    if (seen.has(n.name)) throw new DagDefinitionError(`${where}: two nodes are named "${n.name}": node names must be unique (use a namespace to combine pipelines)`, "name");
    seen.add(n.name);
    for (const d of n.outputs) {
      const other = producer.get(d);
      if (other) throw new DagDefinitionError(`${where}: dataset "${d}" is written by two nodes, "${other}" and "${n.name}": give one of the outputs another name`, "outputs");
      producer.set(d, n.name);
    }
  }
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 1);
    path.push(name);
    for (const d of (byName.get(name) as PipelineNode).inputs) {
      const from = producer.get(d);
      if (!from) continue;
      if (state.get(from) === 1) {
        const loop = [...path.slice(path.indexOf(from)), from];
        const shown = loop.slice(1).map((to, i) => `${loop[i]} -[${(byName.get(to) as PipelineNode).inputs.find((x) => producer.get(x) === loop[i])}]-> ${to}`);
        throw new DagDefinitionError(`${where}: cycle through datasets: ${shown.join(", ")}; a node cannot depend on its own output`, "inputs");
      }
      if (!state.has(from)) visit(from);
    }
    path.pop();
    state.set(name, 2);
  };
  for (const n of nodes) if (!state.has(n.name)) visit(n.name);
  return producer;
}

function specOf(n: PipelineNode): OperatorSpec {
  const o = n.options;
  if (o.run) return { kind: "node", args: {}, templateFields: [], callable: o.run as OperatorSpec["callable"] };
  if (o.python) return { kind: "python", args: { callable: o.python, kwargs: o.kwargs ?? {} }, templateFields: ["kwargs"] };
  return { kind: "bash", args: { command: o.command }, templateFields: ["command"] };
}

function addNode(d: Dag, n: PipelineNode): Task {
  const { name: _n, inputs: _i, outputs: _o, run: _r, python: _p, kwargs: _k, command: _c, tags, ...common } = n.options;
  const task = d.addTask(specOf(n), { ...common, id: n.name } as TaskOptions);
  task.datasets = { inputs: n.inputs, outputs: n.outputs };
  task.tags = tags ?? [];
  const profile = (tags ?? []).find((t) => t.startsWith("resources:"))?.slice("resources:".length);
  if (profile && task.options.resources?.profile === undefined) task.options.resources = { ...task.options.resources, profile };
  return task;
}

/**
 * A pipeline. With an `id` it is a DAG (the default export of a DAG file); without one it is a group of nodes for
 * other pipelines, optionally under a `namespace`.
 */
export function pipeline(options: PipelineOptions, nodes: Array<PipelineNode | Pipeline | Dag>): Dag;
export function pipeline(options: FragmentOptions, nodes: Array<PipelineNode | Pipeline | Dag>): Pipeline;
export function pipeline(options: PipelineOptions | FragmentOptions, nodes: Array<PipelineNode | Pipeline | Dag>): Dag | Pipeline {
  if (typeof options !== "object" || options === null) throw new DagDefinitionError("pipeline(options, nodes): options must be an object", "options");
  const id = (options as PipelineOptions).id;
  const where = id === undefined ? `pipeline(${options.namespace ? `namespace "${options.namespace}"` : ""})` : `pipeline "${String(id)}"`;
  const flat = flatten(where, nodes, options);
  if (id === undefined) {
    for (const key of Object.keys(options)) if (!FRAGMENT_KEYS.includes(key)) throw new DagDefinitionError(`${where}: option "${key}" needs an id (a pipeline with an id is a DAG); a group of nodes takes only ${FRAGMENT_KEYS.join(", ")}`, key);
    checkGraph(where, flat);
    return { [PIPELINE_BRAND]: true, nodes: flat };
  }
  const { namespace: _ns, inputs: _in, outputs: _out, catalog, externalDependencies, ...dagOptions } = options as PipelineOptions;
  const producer = checkGraph(where, flat);
  const checkedCatalog = catalog === undefined ? {} : checkCatalog(catalog, where);
  const deps = checkExternal(where, externalDependencies);
  for (const n of flat) {
    for (const input of n.inputs) {
      const param = input.startsWith(PARAMS_PREFIX) ? input.slice(PARAMS_PREFIX.length) : null;
      if (param !== null && !(param in (dagOptions.params ?? {}))) {
        throw new DagDefinitionError(`${where}: node "${n.name}" reads "${input}", but the pipeline has no param "${param}": add params: { ${param}: <default> }`, "params");
      }
    }
  }
  const result = dag(dagOptions, () => {
    const tasks = new Map(flat.map((n) => [n.name, addNode(currentDag("pipeline"), n)]));
    for (const n of flat) {
      for (const input of n.inputs) {
        const from = producer.get(input);
        if (from) (tasks.get(from) as Task).then(tasks.get(n.name) as Task);
      }
    }
    const roots = flat.filter((n) => n.inputs.every((i) => !producer.has(i))).map((n) => tasks.get(n.name) as Task);
    for (const dep of deps) {
      const sensor = externalTaskSensor({
        id: `wait_for_${dep.dagId}${dep.taskId ? `.${dep.taskId}` : ""}`, externalDagId: dep.dagId, externalTaskId: dep.taskId,
        timeout: dep.timeout ?? "1d", checkExistence: dep.checkExistence ?? true, executionDelta: dep.executionDelta ?? 0,
      });
      sensor.then(roots);
    }
  });
  (result as unknown as Record<symbol, PipelineInfo>)[PIPELINE_BRAND] = { catalog: checkedCatalog, nodes: flat };
  return result;
}

function checkExternal(where: string, deps: unknown): ExternalDependency[] {
  if (deps === undefined) return [];
  if (!Array.isArray(deps)) throw new DagDefinitionError(`${where}: externalDependencies must be an array of { dagId, taskId?, timeout?, checkExistence?, executionDelta? }`, "externalDependencies");
  return deps.map((d: unknown, i) => {
    const f = `externalDependencies[${i}]`;
    if (typeof d !== "object" || d === null) throw new DagDefinitionError(`${where}: ${f} must be an object with a dagId`, f);
    const dep = d as ExternalDependency;
    for (const key of Object.keys(dep)) if (!["dagId", "taskId", "timeout", "checkExistence", "executionDelta"].includes(key)) throw new DagDefinitionError(`${where}: ${f}.${key} is unknown; use dagId, taskId, timeout, checkExistence, executionDelta`, `${f}.${key}`);
    if (typeof dep.dagId !== "string" || dep.dagId === "") throw new DagDefinitionError(`${where}: ${f}.dagId is required`, `${f}.dagId`);
    if (dep.taskId !== undefined && (typeof dep.taskId !== "string" || dep.taskId === "")) throw new DagDefinitionError(`${where}: ${f}.taskId must be a task id`, `${f}.taskId`);
    if (dep.timeout !== undefined) parseDuration(dep.timeout, `${where}: ${f}.timeout`);
    if (dep.executionDelta !== undefined) parseDuration(dep.executionDelta, `${where}: ${f}.executionDelta`);
    if (dep.checkExistence !== undefined && typeof dep.checkExistence !== "boolean") throw new DagDefinitionError(`${where}: ${f}.checkExistence must be true or false`, `${f}.checkExistence`);
    return dep;
  });
}
