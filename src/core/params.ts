/** Run params: DAG defaults overridden by the run's conf, validated against the DAG's params schema. */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { SerializedDag } from "../sdk/serialized.js";
import { ValidationError } from "./errors.js";

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: false });
const cache = new Map<string, ValidateFunction>();

function describe(e: ErrorObject): string {
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, ".") : (e.params as { missingProperty?: string }).missingProperty ?? "(root)";
  return `conf.${where} ${e.message ?? "is invalid"}`;
}

/** Merges conf over the DAG's param defaults and validates; throws ValidationError naming the param. */
export function resolveParams(dag: SerializedDag, conf: unknown): Record<string, unknown> {
  if (conf === undefined || conf === null) conf = {};
  if (typeof conf !== "object" || Array.isArray(conf)) {
    throw new ValidationError("conf", "must be a JSON object", `Pass conf as an object, e.g. {"${Object.keys(dag.params)[0] ?? "name"}": "value"}`);
  }
  const params = { ...dag.params, ...(conf as Record<string, unknown>) };
  if (dag.paramsSchema) {
    const key = JSON.stringify(dag.paramsSchema);
    let validate = cache.get(key);
    if (!validate) {
      try {
        validate = ajv.compile(dag.paramsSchema);
      } catch (err) {
        throw new ValidationError("paramsSchema", `DAG "${dag.id}" has an invalid params schema: ${(err as Error).message}`, "Fix paramsSchema in the DAG file");
      }
      cache.set(key, validate);
    }
    if (!validate(params)) {
      const errors = (validate.errors ?? []).map(describe);
      throw new ValidationError(errors[0]?.split(" ")[0] ?? "conf", `params of DAG "${dag.id}" are invalid: ${errors.join("; ")}`, "Change the run conf to match the DAG's paramsSchema");
    }
  }
  return params;
}
