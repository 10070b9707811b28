import { currentDag, isTask, type Task } from "./dag.js";
import { parseDuration, type Duration } from "./duration.js";
import { DagDefinitionError } from "./errors.js";
import { CALLBACK_EVENTS, serializedCallbacks } from "./notify.js";
import type { OperatorKind, OperatorSpec } from "./operator-spec.js";
import {
  BACKEND_NAMES, TRIGGER_RULES, WEIGHT_RULES, type BackendName, type Grants, type Resources, type TaskContext, type TaskOptions,
} from "./types.js";

const COMMON_KEYS = [
  "id", "retries", "retryDelay", "retryExponentialBackoff", "maxRetryDelay", "executionTimeout", "triggerRule",
  "pool", "queue", "environment", "backend", "resources", "network", "grants", "doc", "priorityWeight", "weightRule",
  "setup", "teardown", "onFailureFailDagrun", "dependsOnPast", "onSuccess", "onFailure", "onRetry",
  "sla", "onSlaMiss", "maxActiveTisPerDag", "reuse",
] as const;

function closest(word: string, options: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  return options.find((o) => o.toLowerCase() === lower || o.toLowerCase().startsWith(lower.slice(0, 4)));
}

/** Validates the common task options; operator-specific keys are checked by each factory. */
export function checkTaskOptions(where: string, options: Record<string, unknown>, extraKeys: readonly string[]): void {
  const known = [...COMMON_KEYS, ...extraKeys];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const hint = closest(key, known);
      throw new DagDefinitionError(`${where}: unknown option "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}; known options are ${known.join(", ")}`, key);
    }
  }
  const o = options as Partial<TaskOptions>;
  if (o.retries !== undefined && (!Number.isInteger(o.retries) || o.retries < 0)) throw new DagDefinitionError(`${where}: retries must be an integer >= 0, got ${JSON.stringify(o.retries)}`, "retries");
  if (o.onSlaMiss !== undefined && o.sla === undefined) throw new DagDefinitionError(`${where}: onSlaMiss needs an sla, e.g. sla: "1h" (how long after the run starts the task should have succeeded)`, "sla");
  for (const key of ["retryDelay", "maxRetryDelay", "executionTimeout", "sla"] as const) {
    if (o[key] !== undefined) parseDuration(o[key] as Duration, `${where}: ${key}`);
  }
  if (o.triggerRule !== undefined && !TRIGGER_RULES.includes(o.triggerRule)) throw new DagDefinitionError(`${where}: triggerRule "${o.triggerRule}" is unknown; use one of ${TRIGGER_RULES.join(", ")}`, "triggerRule");
  if (o.backend !== undefined && !BACKEND_NAMES.includes(o.backend)) throw new DagDefinitionError(`${where}: backend "${o.backend}" is unknown; use one of ${BACKEND_NAMES.join(", ")}`, "backend");
  if (o.network !== undefined && o.network !== "none" && o.network !== "host") throw new DagDefinitionError(`${where}: network must be "none" or "host"`, "network");
  if (o.priorityWeight !== undefined && !Number.isSafeInteger(o.priorityWeight)) throw new DagDefinitionError(`${where}: priorityWeight must be an integer, got ${JSON.stringify(o.priorityWeight)}`, "priorityWeight");
  if (o.weightRule !== undefined && !WEIGHT_RULES.includes(o.weightRule)) throw new DagDefinitionError(`${where}: weightRule "${String(o.weightRule)}" is unknown; use one of ${WEIGHT_RULES.join(", ")}`, "weightRule");
  if (o.maxActiveTisPerDag !== undefined && !(Number.isInteger(o.maxActiveTisPerDag) && o.maxActiveTisPerDag > 0)) throw new DagDefinitionError(`${where}: maxActiveTisPerDag must be an integer > 0 (instances of the task running at once), got ${JSON.stringify(o.maxActiveTisPerDag)}`, "maxActiveTisPerDag");
  if (o.reuse !== undefined && typeof o.reuse !== "boolean") throw new DagDefinitionError(`${where}: reuse must be true or false (true runs the task's tries in a long-lived runner shared with other tries of its environment), got ${JSON.stringify(o.reuse)}`, "reuse");
  if (o.dependsOnPast !== undefined && typeof o.dependsOnPast !== "boolean") throw new DagDefinitionError(`${where}: dependsOnPast must be true or false`, "dependsOnPast");
  serializedCallbacks(where, o, CALLBACK_EVENTS);
  if (o.resources !== undefined) checkResources(where, o.resources);
  if (o.grants !== undefined) checkGrants(where, o.grants);
  for (const key of ["pool", "queue", "environment"] as const) {
    if (o[key] !== undefined && (typeof o[key] !== "string" || o[key] === "")) throw new DagDefinitionError(`${where}: ${key} must be a non-empty string`, key);
  }
}

function checkResources(where: string, r: Resources): void {
  for (const key of Object.keys(r)) {
    if (!["memory", "cpu", "pids", "scratch", "profile"].includes(key)) throw new DagDefinitionError(`${where}: resources.${key} is unknown; use memory, cpu, pids, scratch or profile`, `resources.${key}`);
  }
  if (r.profile !== undefined && (typeof r.profile !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(r.profile))) throw new DagDefinitionError(`${where}: resources.profile must name a profile of kubernetes.profiles`, "resources.profile");
  if (r.memory !== undefined && !(typeof r.memory === "number" ? r.memory > 0 : /^\d+(\.\d+)?(Ki|Mi|Gi|K|M|G|k|m|g)?$/.test(r.memory))) {
    throw new DagDefinitionError(`${where}: resources.memory "${r.memory}" is not a size; write "256Mi" or "1Gi"`, "resources.memory");
  }
  if (r.scratch !== undefined && !(typeof r.scratch === "number" ? Number.isInteger(r.scratch) && r.scratch >= 1 << 20 : /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T|k|m|g)?$/.test(r.scratch))) {
    throw new DagDefinitionError(`${where}: resources.scratch "${r.scratch}" is not a disk size; write "512Mi" or "4Gi" (at least 1Mi)`, "resources.scratch");
  }
  if (r.cpu !== undefined && !(typeof r.cpu === "number" && r.cpu > 0)) throw new DagDefinitionError(`${where}: resources.cpu must be a number of cores > 0`, "resources.cpu");
  if (r.pids !== undefined && !(Number.isInteger(r.pids) && r.pids > 0)) throw new DagDefinitionError(`${where}: resources.pids must be an integer > 0`, "resources.pids");
}

function checkGrants(where: string, g: Grants): void {
  for (const key of Object.keys(g)) {
    if (key !== "connections" && key !== "variables") throw new DagDefinitionError(`${where}: grants.${key} is unknown; use connections or variables`, `grants.${key}`);
    const list = (g as Record<string, unknown>)[key];
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) throw new DagDefinitionError(`${where}: grants.${key} must be an array of names`, `grants.${key}`);
  }
}

/** Validates a factory's options and adds its task to the DAG being defined; used by every operator factory. */
export function define(kind: OperatorKind, factory: string, options: Record<string, unknown>, extra: readonly string[], templateFields: string[], callableKey?: string): Task {
  if (typeof options !== "object" || options === null) throw new DagDefinitionError(`${factory}(): expected an options object with an id`, "options");
  const owner = currentDag(factory);
  const where = `${factory}("${String(options.id)}") in DAG "${owner.id}"`;
  checkTaskOptions(where, options, extra);
  const args: Record<string, unknown> = {};
  for (const key of extra) if (key !== callableKey && options[key] !== undefined) args[key] = options[key];
  const common: Record<string, unknown> = {};
  for (const key of COMMON_KEYS) if (options[key] !== undefined) common[key] = options[key];
  const spec: OperatorSpec = { kind, args, templateFields };
  if (callableKey) {
    const fnValue = options[callableKey];
    if (typeof fnValue !== "function") throw new DagDefinitionError(`${where}: "${callableKey}" must be a function`, callableKey);
    spec.callable = fnValue as OperatorSpec["callable"];
  }
  return owner.addTask(spec, common as unknown as TaskOptions);
}

export function requireString(factory: string, options: Record<string, unknown>, key: string): void {
  if (typeof options[key] !== "string" || options[key] === "") {
    throw new DagDefinitionError(`${factory}("${String(options.id)}"): "${key}" is required and must be a non-empty string`, key);
  }
}

/** Sensor options: how often to check, for how long, and whether a timeout skips instead of failing. */
export interface SensorOptions {
  /** @default "30s" */
  pokeInterval?: Duration;
  /** @default "7d" */
  timeout?: Duration;
  /** On timeout mark the task skipped instead of failed. @default false */
  softFail?: boolean;
  /**
   * "poke" keeps the try (and its pool slot) while waiting; "reschedule" ends each unsuccessful poke, frees the slot
   * and moves the task to `up_for_reschedule` until the next poke (the timeout counts from the first poke).
   * "deferrable" hands the wait to the orchestrator's trigger loop at once: no process and no slot while waiting
   * (state `deferred`); the check is Airlock's own declarative one (the sensor's arguments), never task code.
   * @default "poke"
   */
  mode?: "poke" | "reschedule" | "deferrable";
}
export const SENSOR_KEYS = ["pokeInterval", "timeout", "softFail", "mode"] as const;

/** Validates the options every sensor shares. */
export function checkSensor(factory: string, options: SensorOptions & { id: string }): void {
  if (options.pokeInterval !== undefined) parseDuration(options.pokeInterval, `${factory}("${options.id}"): pokeInterval`);
  if (options.timeout !== undefined) parseDuration(options.timeout, `${factory}("${options.id}"): timeout`);
  if (options.mode !== undefined && options.mode !== "poke" && options.mode !== "reschedule" && options.mode !== "deferrable") {
    throw new DagDefinitionError(`${factory}("${options.id}"): mode "${String(options.mode)}" is unknown; use "poke" (hold the slot while waiting), "reschedule" (free it between pokes) or "deferrable" (the orchestrator waits, no process)`, "mode");
  }
}

/** Options of `bash`. */
export interface BashOptions extends TaskOptions {
  /** Shell command (templated). Exit 0 succeeds, 99 skips, anything else fails. */
  command: string;
  /** Extra environment variables (templated). */
  env?: Record<string, string>;
  /** Working directory (templated). @default the try's scratch directory */
  cwd?: string;
}

/** Runs a bash command; its XCom is the last line of stdout. */
export function bash(options: BashOptions): Task {
  requireString("bash", options as unknown as Record<string, unknown>, "command");
  return define("bash", "bash", options as unknown as Record<string, unknown>, ["command", "env", "cwd"], ["command", "env", "cwd"]);
}

/** Options of `fn`. */
export interface FnOptions<R = unknown> extends TaskOptions {
  /** The task's code; its JSON return value is the task's XCom. Throw `TaskSkipped` to skip. */
  run: (ctx: TaskContext) => R | Promise<R>;
}

/** Runs an async TypeScript function in the task's process. */
export function fn<R>(options: FnOptions<R>): Task {
  return define("fn", "fn", options as unknown as Record<string, unknown>, ["run"], [], "run");
}

/** Options of `branch`. */
export interface BranchOptions extends TaskOptions {
  /** Returns the id (or ids) of the direct successors to follow; the other successors are skipped. */
  run: (ctx: TaskContext) => string | string[] | null | Promise<string | string[] | null>;
}

/** Chooses which direct successors run. */
export function branch(options: BranchOptions): Task {
  return define("branch", "branch", options as unknown as Record<string, unknown>, ["run"], [], "run");
}

/** A task that does nothing; useful to join or fan out. */
export function empty(options: TaskOptions): Task {
  return define("empty", "empty", options as unknown as Record<string, unknown>, [], []);
}

/** Options of `http`. */
export interface HttpOptions extends TaskOptions {
  /** Connection id giving scheme/host/port and credentials. */
  connection: string;
  /** @default "GET" */
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";
  /** Path appended to the connection's base URL (templated). */
  path?: string;
  /** Request body (templated); objects are sent as JSON. */
  body?: string | Record<string, unknown> | unknown[];
  /** Request headers (templated). */
  headers?: Record<string, string>;
  /** Status codes that count as success. @default 2xx */
  expectedStatus?: number | number[];
  /** Give up after this long. @default "60s" */
  requestTimeout?: Duration;
}

/** Calls an HTTP endpoint; the response body (JSON when it parses) is the XCom. */
export function http(options: HttpOptions): Task {
  requireString("http", options as unknown as Record<string, unknown>, "connection");
  const method = options.method ?? "GET";
  if (!["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].includes(method)) throw new DagDefinitionError(`http("${options.id}"): method "${method}" is not supported`, "method");
  if (options.requestTimeout !== undefined) parseDuration(options.requestTimeout, `http("${options.id}"): requestTimeout`);
  const t = define("http", "http", options as unknown as Record<string, unknown>, ["connection", "method", "path", "body", "headers", "expectedStatus", "requestTimeout"], ["path", "body", "headers"]);
  t.options.grants = { ...t.options.grants, connections: [...new Set([...(t.options.grants?.connections ?? []), options.connection])] };
  return t;
}

/** Options of `fileSensor`. */
export interface FileSensorOptions extends TaskOptions, SensorOptions {
  /** Path to wait for (templated); a glob `*` matches within the last path segment. */
  path: string;
}

/** Waits until a file exists. */
export function fileSensor(options: FileSensorOptions): Task {
  requireString("fileSensor", options as unknown as Record<string, unknown>, "path");
  checkSensor("fileSensor", options);
  return define("file_sensor", "fileSensor", options as unknown as Record<string, unknown>, ["path", ...SENSOR_KEYS], ["path"]);
}

/** Options of `externalTaskSensor`. */
export interface ExternalTaskSensorOptions extends TaskOptions, SensorOptions {
  externalDagId: string;
  /** Task to wait for; without it the whole run of the other DAG. */
  externalTaskId?: string;
  /** States that end the wait successfully. @default ["success"] */
  allowedStates?: string[];
  /** States that fail the sensor at once. @default ["failed", "upstream_failed"] */
  failedStates?: string[];
  /** Fail at once when the other DAG (or its task) does not exist. @default false */
  checkExistence?: boolean;
  /** Wait for the other DAG's run this long before this run's logical date. @default 0 */
  executionDelta?: Duration;
}

/** Waits until a task of another DAG succeeds for the same logical date. */
export function externalTaskSensor(options: ExternalTaskSensorOptions): Task {
  requireString("externalTaskSensor", options as unknown as Record<string, unknown>, "externalDagId");
  checkSensor("externalTaskSensor", options);
  if (options.executionDelta !== undefined) parseDuration(options.executionDelta, `externalTaskSensor("${options.id}"): executionDelta`);
  return define("external_task_sensor", "externalTaskSensor", options as unknown as Record<string, unknown>,
    ["externalDagId", "externalTaskId", "allowedStates", "failedStates", "checkExistence", "executionDelta", ...SENSOR_KEYS], []);
}

/** Options of `isolated`. */
export interface IsolationOptions {
  environment: string;
  backend?: BackendName;
  resources?: Resources;
  network?: "none" | "host";
  grants?: Grants;
  /** Run in a long-lived runner shared with other tries of the environment (see TaskOptions.reuse). */
  reuse?: boolean;
}

/** Runs any operator sealed in an environment: only what it is granted goes in. Returns the same task. */
export function isolated(task: Task, options: IsolationOptions): Task {
  if (!isTask(task)) throw new DagDefinitionError("isolated(task, options): the first argument must be a task made by an operator such as fn() or bash()", "task");
  if (typeof options !== "object" || options === null) throw new DagDefinitionError(`isolated("${task.id}"): options must be an object with an environment`, "options");
  const where = `isolated("${task.id}")`;
  for (const key of Object.keys(options)) {
    if (!["environment", "backend", "resources", "network", "grants", "reuse"].includes(key)) {
      throw new DagDefinitionError(`${where}: unknown option "${key}"; use environment, backend, resources, network, grants or reuse`, key);
    }
  }
  if (typeof options.environment !== "string" || options.environment === "") throw new DagDefinitionError(`${where}: environment is required: the name of a folder in environments/`, "environment");
  checkTaskOptions(where, { id: task.id, ...options }, []);
  const o = task.options;
  o.environment = options.environment;
  if (options.backend) o.backend = options.backend;
  if (options.resources) o.resources = { ...o.resources, ...options.resources };
  if (options.network) o.network = options.network;
  if (options.reuse !== undefined) o.reuse = options.reuse;
  if (options.grants) {
    o.grants = {
      connections: [...new Set([...(o.grants?.connections ?? []), ...(options.grants.connections ?? [])])],
      variables: [...new Set([...(o.grants?.variables ?? []), ...(options.grants.variables ?? [])])],
    };
  }
  return task;
}
