/** Builds what a task sees from its payload: only granted connections, variables and upstream XComs. */
import { readFileSync } from "node:fs";
import { format } from "node:util";
import { NotGrantedError } from "../sdk/errors.js";
import type { Connection, TaskContext } from "../sdk/types.js";
import type { TaskPayload, XComValue } from "./protocol.js";

/** Reads an XCom value that came inline or by reference. */
export function readXcom(v: XComValue): unknown {
  if ("inline" in v) return v.inline;
  return JSON.parse(readFileSync(v.ref, "utf8")) as unknown;
}

/** A granted variable or connection that does not exist (neither in the store nor in the environment). */
export class MissingValueError extends Error {
  override name = "MissingValueError";
}

/** Accessors shared by the task context and the template context. */
export interface Grants {
  xcomPull(taskId: string): unknown;
  variable(name: string): string;
  connection(id: string): Connection;
}

/** Grant-checked accessors over the payload. */
export function grantsOf(p: TaskPayload): Grants {
  const where = `task "${p.taskId}" of DAG "${p.dagId}"`;
  // Granted names that do not exist are listed by the orchestrator: say so, rather than "not granted", so that a
  // template's var.value.get(name, default) can fall back and the user is told to create the value.
  const grantedVariables = new Set(p.grants.missing?.variables ?? []);
  const grantedConnections = new Set(p.grants.missing?.connections ?? []);
  const envName = (prefix: string, id: string) => `${prefix}${id.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
  return {
    xcomPull(taskId) {
      const v = p.inputs.xcom[taskId];
      if (v !== undefined) return readXcom(v);
      if (p.operator.upstream.includes(taskId) || taskId in p.inputs.xcom) return null;
      throw new NotGrantedError(`${where} cannot pull the XCom of "${taskId}": only upstream tasks' results are passed in; make "${taskId}" run before "${p.taskId}" (${taskId}.then(${p.taskId}))`);
    },
    variable(name) {
      const v = p.grants.variables[name];
      if (v === undefined && grantedVariables.has(name)) {
        throw new MissingValueError(`variable "${name}" does not exist: set it with \`airlock variables set ${name} <value>\` (or ${envName("AIRLOCK_VAR_", name)} in the orchestrator's environment)`);
      }
      if (v === undefined) throw new NotGrantedError(`variable "${name}" was not granted to ${where}: add grants: { variables: ["${name}"] } to the task (or isolated() options), and make sure the variable exists (airlock variables set ${name} ...)`);
      return v;
    },
    connection(id) {
      const c = p.grants.connections[id];
      if (c === undefined && grantedConnections.has(id)) {
        throw new MissingValueError(`connection "${id}" does not exist: add it with \`airlock connections add ${id} --uri <uri>\` (or ${envName("AIRLOCK_CONN_", id)}=<uri> in the orchestrator's environment)`);
      }
      if (c === undefined) throw new NotGrantedError(`connection "${id}" was not granted to ${where}: add grants: { connections: ["${id}"] } to the task (or isolated() options), and make sure it exists (airlock connections add ${id} ...)`);
      return c;
    },
  };
}

/** The context handed to fn/branch callables. */
export function taskContext(p: TaskPayload, g: Grants): TaskContext {
  const line = (level: string) => (...args: unknown[]) => process.stdout.write(`${level} ${format(...args)}\n`);
  return {
    dagId: p.dagId,
    taskId: p.taskId,
    runId: p.runId,
    tryNumber: p.tryNumber,
    params: p.context.params,
    conf: p.context.conf,
    logicalDate: p.context.logicalDate,
    ds: p.context.ds,
    dataInterval: p.context.dataInterval,
    xcom: { pull: <T>(taskId: string) => g.xcomPull(taskId) as T },
    variables: { get: (name: string) => g.variable(name) },
    connections: { get: (id: string) => g.connection(id) },
    log: { info: line("INFO"), warn: line("WARN"), error: line("ERROR") },
    scratchDir: p.context.scratchDir,
    item: p.context.item,
    mapIndex: p.context.mapIndex ?? -1,
  };
}

const TEMPLATE_MARK = /\{\{|\{%|\{#/;

function hasTemplates(v: unknown): boolean {
  if (typeof v === "string") return TEMPLATE_MARK.test(v);
  if (Array.isArray(v)) return v.some(hasTemplates);
  if (typeof v === "object" && v !== null) return Object.values(v).some(hasTemplates);
  return false;
}

function callbackNames(args: Record<string, unknown>): Record<string, unknown> {
  const error = args.error as { type: string; message: string } | null | undefined;
  return { event: args.event, exception: error ? `${error.type}: ${error.message}` : "" };
}

function mappedNames(p: TaskPayload): Record<string, unknown> {
  const mapIndex = p.context.mapIndex ?? -1;
  return mapIndex >= 0 ? { item: p.context.item, map_index: mapIndex } : { map_index: -1 };
}

/** The operator's arguments with its templated fields rendered against the payload's context and grants. */
export async function renderedArgs(p: TaskPayload, g: Grants = grantsOf(p)): Promise<Record<string, unknown>> {
  // The template engine is most of the runner's code: load it only when a field holds a template.
  if (!p.operator.templateFields.some((f) => hasTemplates(p.operator.args[f]))) return p.operator.args;
  const { buildTemplateContext, renderFields } = await import("../templating/index.js");
  const tctx = buildTemplateContext({
    dagId: p.dagId, taskId: p.taskId, runId: p.runId, tryNumber: p.tryNumber, params: p.context.params,
    conf: p.context.conf, logicalDate: p.context.logicalDate, dataInterval: p.context.dataInterval,
    timezone: p.context.timezone, xcomPull: g.xcomPull, variable: g.variable, connection: g.connection,
    // A callback's templates may also name what happened: {{ event }}, {{ exception }}; a mapped instance's name
    // its element and position: {{ item }}, {{ map_index }}.
    extra: { ...(p.operator.kind === "callback" ? callbackNames(p.operator.args) : {}), ...mappedNames(p) },
  });
  // A bash command is shell: values pasted into it are quoted so run conf and params never become shell syntax.
  const shellFields = p.operator.kind === "bash" ? ["command"] : [];
  return renderFields(p.operator.args, p.operator.templateFields, tctx, { dagId: p.dagId, taskId: p.taskId }, shellFields);
}
