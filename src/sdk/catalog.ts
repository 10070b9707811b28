/**
 * The data catalog's entries as a pipeline sees them: dataset name → storage. Pure validation (no I/O): the
 * orchestrator reads `catalog.yaml`, a pipeline may carry entries inline; both go through `checkCatalog`.
 */
import { DagDefinitionError } from "./errors.js";

/** How a dataset's bytes are read and written. */
export type DatasetType = "json" | "text" | "csv" | "file" | "folder";
export const DATASET_TYPES: readonly DatasetType[] = ["json", "text", "csv", "file", "folder"];

/** Where a dataset lives: a local path (relative to the project) or `s3://bucket/key`, templated with `{{ ds }}` etc. */
export interface CatalogEntry {
  type: DatasetType;
  path: string;
}

/** Dataset name → entry. */
export type Catalog = Record<string, CatalogEntry>;

/** Dataset names: letters, digits, `_`, `-`, `.` (namespaces add `.`). */
export const DATASET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;

/** Prefix of inputs that read a run param instead of a dataset. */
export const PARAMS_PREFIX = "params:";

/** Throws naming the entry and field unless `value` is a valid catalog; returns it typed. */
export function checkCatalog(value: unknown, where: string): Catalog {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DagDefinitionError(`${where}: the catalog must map dataset names to { type, path }`, "catalog");
  }
  const out: Catalog = {};
  for (const [name, entry] of Object.entries(value as Record<string, unknown>)) {
    const field = `catalog.${name}`;
    if (!DATASET_NAME.test(name)) throw new DagDefinitionError(`${where}: ${field}: "${name}" is not a dataset name; use letters, digits, "_", "-" and "."`, field);
    if (typeof entry !== "object" || entry === null) throw new DagDefinitionError(`${where}: ${field} must be an object { type, path }`, field);
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (key !== "type" && key !== "path") throw new DagDefinitionError(`${where}: ${field}.${key} is unknown; an entry has only type and path`, `${field}.${key}`);
    }
    if (!DATASET_TYPES.includes(e.type as DatasetType)) {
      throw new DagDefinitionError(`${where}: ${field}.type must be one of ${DATASET_TYPES.join(", ")}, got ${JSON.stringify(e.type)}`, `${field}.type`);
    }
    if (typeof e.path !== "string" || e.path.trim() === "") {
      throw new DagDefinitionError(`${where}: ${field}.path is required: a path relative to the project, an absolute path or s3://bucket/key`, `${field}.path`);
    }
    if (e.path.startsWith("s3://") && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,62}\/.+/.test(e.path)) {
      throw new DagDefinitionError(`${where}: ${field}.path "${e.path}" is not an object URL; write s3://bucket/key`, `${field}.path`);
    }
    out[name] = { type: e.type as DatasetType, path: e.path };
  }
  return out;
}
