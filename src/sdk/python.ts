/**
 * The `python` operator: calls a function of a Python file next to the DAG file, `function(context, **kwargs)`,
 * in the interpreter of the task's environment. Only the DAG definition lives here (no I/O): parsing the DAG file
 * copies the Python code next to the compiled DAG, and the Python runner calls the function.
 */
import type { Task } from "./dag.js";
import { DagDefinitionError } from "./errors.js";
import { define } from "./operators.js";
import type { TaskOptions } from "./types.js";

/** Options of `python`. */
export interface PythonOptions extends TaskOptions {
  /** "path/file.py:function", the path relative to the DAG file (inside its folder). */
  callable: string;
  /** Keyword arguments of the call (templated): JSON values. @default {} */
  kwargs?: Record<string, unknown>;
}

/** Whether `callable` is `path/file.py:function` with a relative path that stays inside the DAG's folder. */
function validCallable(callable: unknown): callable is string {
  if (typeof callable !== "string") return false;
  const m = /^([^:]+\.py):([A-Za-z_][A-Za-z0-9_]*)$/.exec(callable);
  const file = m?.[1];
  return file !== undefined && !file.startsWith("/") && !file.split("/").includes("..");
}

/** Splits a callable into its file (relative to the DAG file) and function name. */
export function parseCallable(callable: string): { file: string; function: string } {
  const at = callable.lastIndexOf(":");
  return { file: callable.slice(0, at), function: callable.slice(at + 1) };
}

/** Runs a Python function sealed in an environment; its JSON return value is the task's XCom. */
export function python(options: PythonOptions): Task {
  const o = options as unknown as Record<string, unknown>;
  const where = `python("${String(o.id)}")`;
  if (!validCallable(o.callable)) {
    throw new DagDefinitionError(`${where}: callable must be "path/file.py:function" with the path relative to the DAG file and inside its folder (e.g. "jobs/clean.py:main"), got ${JSON.stringify(o.callable)}`, "callable");
  }
  if (o.kwargs !== undefined && (typeof o.kwargs !== "object" || o.kwargs === null || Array.isArray(o.kwargs))) {
    throw new DagDefinitionError(`${where}: kwargs must be an object of keyword arguments, e.g. { day: "{{ ds }}" }`, "kwargs");
  }
  try {
    JSON.stringify(o.kwargs ?? {});
  } catch (err) {
    throw new DagDefinitionError(`${where}: kwargs must be JSON values (${(err as Error).message})`, "kwargs");
  }
  return define("python", "python", { ...o, kwargs: o.kwargs ?? {} }, ["callable", "kwargs"], ["kwargs"]);
}
