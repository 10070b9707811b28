/** Sensors that the orchestrator itself evaluates (no task code): a time to reach and an HTTP endpoint to poll. */
import type { Task } from "./dag.js";
import { parseDuration, type Duration } from "./duration.js";
import { DagDefinitionError } from "./errors.js";
import { SENSOR_KEYS, checkSensor, define, requireString, type SensorOptions } from "./operators.js";
import type { TaskOptions } from "./types.js";

/** Options of `timeSensor`: exactly one of `target` and `delta`. */
export interface TimeSensorOptions extends TaskOptions, SensorOptions {
  /** An ISO 8601 time to wait for (templated), e.g. "{{ data_interval_end }}". */
  target?: string;
  /** Wait until this long after the end of the run's data interval (Airflow's TimeDeltaSensor). */
  delta?: Duration;
}

/** Waits until a time is reached (Airflow's DateTimeSensor / TimeDeltaSensor). */
export function timeSensor(options: TimeSensorOptions): Task {
  const where = `timeSensor("${String(options?.id)}")`;
  if ((options.target === undefined) === (options.delta === undefined)) throw new DagDefinitionError(`${where}: give exactly one of target (an ISO time, templated) or delta (a duration after the data interval's end)`, "target");
  if (options.target !== undefined) requireString("timeSensor", options as unknown as Record<string, unknown>, "target");
  if (options.delta !== undefined) parseDuration(options.delta, `${where}: delta`);
  checkSensor("timeSensor", options);
  return define("time_sensor", "timeSensor", options as unknown as Record<string, unknown>, ["target", "delta", ...SENSOR_KEYS], ["target"]);
}

/** Options of `httpSensor`. */
export interface HttpSensorOptions extends TaskOptions, SensorOptions {
  /** Connection giving scheme, host, port and credentials. */
  connection: string;
  /** Path appended to the connection's base URL (templated). */
  path?: string;
  /** Request headers (templated). */
  headers?: Record<string, string>;
  /** Status codes that end the wait. @default 2xx */
  expectedStatus?: number | number[];
  /** The response body must also contain this text (templated). */
  responseContains?: string;
}

/** Polls an HTTP endpoint until it answers as expected (Airflow's HttpSensor, with a declarative check). */
export function httpSensor(options: HttpSensorOptions): Task {
  requireString("httpSensor", options as unknown as Record<string, unknown>, "connection");
  checkSensor("httpSensor", options);
  const t = define("http_sensor", "httpSensor", options as unknown as Record<string, unknown>,
    ["connection", "path", "headers", "expectedStatus", "responseContains", ...SENSOR_KEYS], ["path", "headers", "responseContains"]);
  t.options.grants = { ...t.options.grants, connections: [...new Set([...(t.options.grants?.connections ?? []), options.connection])] };
  return t;
}
