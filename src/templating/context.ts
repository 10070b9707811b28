/**
 * The names a template sees, compatible with Airflow's: params, conf, ds, ts, ti.xcom_pull, var, conn, macros, ...
 * Variables, connections and XComs are read through callbacks, only when a template names them.
 */
import type { Connection, DataInterval } from "../sdk/types.js";
import { formatDs, formatIsoInZone } from "../scheduler/zoned-time.js";
import { MacroError } from "./errors.js";
import { LazyNamespace } from "./guard.js";
import { createMacros, type Macros } from "./macros.js";

/** What `buildTemplateContext` needs; the callbacks may throw (e.g. NotGrantedError), which the render reports. */
export interface TemplateContextInput {
  dagId: string;
  taskId: string;
  runId: string;
  tryNumber: number;
  /** Params as the task sees them (run conf overrides already applied). */
  params: Record<string, unknown>;
  conf: Record<string, unknown>;
  /** Start of the data interval, ISO 8601. */
  logicalDate: string;
  dataInterval: DataInterval;
  /** The DAG's IANA time zone; `ds` and `ts` are read in it. */
  timezone: string;
  xcomPull(taskId: string): unknown;
  variable(name: string): string;
  connection(id: string): Connection;
  /** More top-level names (a callback's `event` and `exception`). */
  extra?: Record<string, unknown>;
}

/** `ti` in templates. */
export interface TemplateTaskInstance {
  dag_id: string;
  task_id: string;
  run_id: string;
  try_number: number;
  /** `ti.xcom_pull("t")`, `ti.xcom_pull(task_ids="t")`, `ti.xcom_pull(task_ids=["a", "b"])` (a list of values). */
  xcom_pull(...args: unknown[]): unknown;
}

/** A connection as templates read it (`conn.<id>.host`), named as in Airflow. */
export interface TemplateConnection {
  conn_id: string;
  conn_type?: string;
  host?: string;
  login?: string;
  password?: string;
  port?: number;
  schema?: string;
  /** The extras as JSON text. */
  extra?: string;
  /** The extras as an object ({} when there are none). */
  extra_dejson: Record<string, unknown>;
}

/** Everything a template can name. Build it with `buildTemplateContext`. */
export interface TemplateContext {
  params: Record<string, unknown>;
  conf: Record<string, unknown>;
  dag_run: { run_id: string; conf: Record<string, unknown>; logical_date: string; data_interval_start: string; data_interval_end: string };
  /** Logical date as YYYY-MM-DD in the DAG's time zone. */
  ds: string;
  ds_nodash: string;
  /** Logical date as ISO 8601 with the DAG zone's offset, e.g. "2026-01-01T00:00:00+01:00". */
  ts: string;
  ts_nodash: string;
  /** ISO 8601 in UTC, as stored. */
  logical_date: string;
  data_interval_start: string;
  data_interval_end: string;
  run_id: string;
  /** `dag.dag_id` as in Airflow, and `dag.id`. */
  dag: { dag_id: string; id: string };
  task: { task_id: string };
  try_number: number;
  ti: TemplateTaskInstance;
  /** `var.value.<name>` (text) and `var.json.<name>` (parsed); `.get(name, default)` for names with dots. */
  var: { value: LazyNamespace; json: LazyNamespace };
  /** `conn.<id>.host` and the other TemplateConnection fields. */
  conn: LazyNamespace;
  macros: Macros;
}

/** The top-level names of a template context, for messages. */
export const TEMPLATE_NAMES = [
  "params", "conf", "dag_run", "ds", "ds_nodash", "ts", "ts_nodash", "logical_date", "data_interval_start",
  "data_interval_end", "run_id", "dag", "task", "try_number", "ti", "var", "conn", "macros", "item", "map_index",
] as const;

function isoUtc(value: string, what: string): string {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new TypeError(`${what} ${JSON.stringify(value)} is not an ISO 8601 date-time`);
  return new Date(ms).toISOString();
}

function isKeywords(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>).__keywords === true;
}

function xcomPuller(pull: (taskId: string) => unknown): (...args: unknown[]) => unknown {
  return (...args: unknown[]) => {
    const kw = isKeywords(args[args.length - 1]) ? (args.pop() as Record<string, unknown>) : {};
    const taskIds = kw.task_ids ?? args[0];
    const key = kw.key ?? args[1];
    if (key !== undefined && key !== null && key !== "return_value") {
      throw new MacroError(`ti.xcom_pull(key=${JSON.stringify(key)}): a task has one XCom, its return value; drop the key argument`);
    }
    if (typeof taskIds === "string") return pull(taskIds);
    if (Array.isArray(taskIds) && taskIds.every((t) => typeof t === "string")) return taskIds.map((t: string) => pull(t));
    throw new MacroError('ti.xcom_pull needs the id of an upstream task, e.g. ti.xcom_pull("extract") or ti.xcom_pull(task_ids=["a", "b"])');
  };
}

/** `var.value` / `var.json` / `conn`, with Airflow's `.get(name, default)` for names that are not identifiers. */
function namespace(label: string, read: (key: string) => unknown): LazyNamespace {
  const ns: LazyNamespace = new LazyNamespace(label, (key) => {
    if (key !== "get") return read(key);
    return (name: unknown, fallback?: unknown) => {
      if (typeof name !== "string") throw new MacroError(`${label}.get(name) needs a name as a string`);
      try {
        return ns.resolve(name);
      } catch (err) {
        // Only a missing value falls back; a refusal (not granted) must stay visible.
        if (fallback === undefined || (err instanceof Error && err.name === "NotGrantedError")) throw err;
        return fallback;
      }
    };
  });
  return ns;
}

function connectionView(c: Connection): TemplateConnection {
  return {
    conn_id: c.id,
    conn_type: c.type,
    host: c.host,
    login: c.login,
    password: c.password,
    port: c.port,
    schema: c.schema,
    extra: c.extra === undefined ? undefined : JSON.stringify(c.extra),
    extra_dejson: c.extra ?? {},
  };
}

/** Builds the Airflow-compatible template context of one try. */
export function buildTemplateContext(input: TemplateContextInput): TemplateContext {
  const logical = isoUtc(input.logicalDate, "logicalDate");
  const ds = formatDs(logical, input.timezone);
  const ts = formatIsoInZone(logical, input.timezone);
  const start = isoUtc(input.dataInterval.start, "dataInterval.start");
  const end = isoUtc(input.dataInterval.end, "dataInterval.end");
  return {
    params: input.params,
    conf: input.conf,
    dag_run: { run_id: input.runId, conf: input.conf, logical_date: logical, data_interval_start: start, data_interval_end: end },
    ds,
    ds_nodash: ds.replaceAll("-", ""),
    ts,
    ts_nodash: ts.slice(0, 19).replaceAll("-", "").replaceAll(":", ""),
    logical_date: logical,
    data_interval_start: start,
    data_interval_end: end,
    run_id: input.runId,
    dag: { dag_id: input.dagId, id: input.dagId },
    task: { task_id: input.taskId },
    try_number: input.tryNumber,
    ti: { dag_id: input.dagId, task_id: input.taskId, run_id: input.runId, try_number: input.tryNumber, xcom_pull: xcomPuller(input.xcomPull) },
    var: {
      value: namespace("var.value", (name) => input.variable(name)),
      json: namespace("var.json", (name) => {
        const text = input.variable(name);
        try {
          return JSON.parse(text) as unknown;
        } catch (cause) {
          throw new MacroError(`variable "${name}" is not JSON: read it as text with var.value.${name}, or store JSON in it`, { cause });
        }
      }),
    },
    conn: namespace("conn", (id) => connectionView(input.connection(id))),
    macros: createMacros(),
    ...(input.extra ?? {}),
  };
}
