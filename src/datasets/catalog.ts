/**
 * The project's data catalog: `catalog.yaml` at the project root, under a pipeline's own entries. Resolves where a
 * dataset lives for one run (templated paths); a dataset with no entry is a run-scoped artifact kept by Airlock.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import type { AirlockConfig } from "../config/config.js";
import { checkCatalog, type Catalog, type DatasetType } from "../sdk/catalog.js";
import type { SerializedDag } from "../sdk/serialized.js";
import type { DagRun } from "../store/types.js";

/** The catalog file is missing fields or is not YAML; the message names the entry and the fix. */
export class CatalogError extends Error {
  override name = "CatalogError";
}

/** Where a dataset's version for one run lives. */
export type DatasetLocation =
  | { kind: "local"; path: string; type: DatasetType; uri: string }
  | { kind: "s3"; bucket: string; key: string; type: DatasetType; uri: string };

/** The catalog file's path for a project. */
export function catalogFile(projectDir: string): string {
  return path.join(projectDir, "catalog.yaml");
}

/** Reads `catalog.yaml` (empty when absent); throws CatalogError naming the entry. */
export function readCatalogFile(file: string): Catalog {
  if (!existsSync(file)) return {};
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, "utf8")) ?? {};
  } catch (err) {
    throw new CatalogError(`${path.basename(file)} is not valid YAML (${(err as Error).message}); fix the syntax`, { cause: err });
  }
  try {
    return checkCatalog(data, path.basename(file));
  } catch (err) {
    throw new CatalogError((err as Error).message, { cause: err });
  }
}

/** The catalog a pipeline sees: its own entries over the project's. */
export function effectiveCatalog(config: AirlockConfig, dag: SerializedDag): Catalog {
  return { ...readCatalogFile(catalogFile(config.projectDir)), ...(dag.pipeline?.catalog ?? {}) };
}

/** Inputs nothing in the pipeline produces and no catalog entry provides, as "node reads dataset" messages. */
export function missingInputs(dag: SerializedDag, catalog: Catalog): string[] {
  const out: string[] = [];
  for (const [name, d] of Object.entries(dag.pipeline?.datasets ?? {})) {
    if (d.producer === null && !catalog[name]) {
      out.push(`node "${d.consumers[0]}" reads dataset "${name}", which no node writes and catalog.yaml does not list: add an entry "${name}: { type: ..., path: ... }" to catalog.yaml or a node that outputs it`);
    }
  }
  return out;
}

/** A location from an s3:// URL or a local path (relative to the project). */
export function locate(config: AirlockConfig, where: string, type: DatasetType): DatasetLocation {
  if (where.startsWith("s3://")) {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(where);
    if (!m) throw new CatalogError(`"${where}" is not an object URL; write s3://bucket/key`);
    return { kind: "s3", bucket: m[1] as string, key: m[2] as string, type, uri: where };
  }
  const p = path.resolve(config.projectDir, where);
  return { kind: "local", path: p, type, uri: p };
}

/** Where an artifact (a dataset without a catalog entry) of a run is kept. */
export function artifactLocation(config: AirlockConfig, run: DagRun, name: string, type: DatasetType): DatasetLocation {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.:+-]/g, "_");
  const rel = `${safe(run.dagId)}/${safe(run.runId)}/${safe(name)}`;
  const base = config.datasets.artifacts;
  return locate(config, base.startsWith("s3://") ? `${base.replace(/\/$/, "")}/${rel}` : path.join(base, rel), type);
}

/** Renders a catalog path's templates (`{{ ds }}`, `{{ params.x }}`, ...) for a run. */
export async function renderPath(template: string, run: DagRun, dag: SerializedDag, name: string): Promise<string> {
  if (!template.includes("{")) return template;
  const { buildTemplateContext, renderString } = await import("../templating/index.js");
  const refuse = (what: string) => () => {
    throw new CatalogError(`catalog path of "${name}" uses ${what}, which catalog paths cannot read; use ds, ts, params, run_id and macros`);
  };
  const ctx = buildTemplateContext({
    dagId: dag.id, taskId: name, runId: run.runId, tryNumber: 1, params: run.params, conf: run.conf,
    logicalDate: run.logicalDate, dataInterval: { start: run.dataIntervalStart, end: run.dataIntervalEnd },
    timezone: dag.timezone, xcomPull: refuse("an XCom"), variable: refuse("a variable"), connection: refuse("a connection"),
  });
  return renderString(template, ctx, { dagId: dag.id, taskId: `catalog:${name}`, field: "path" });
}

/** The location of dataset `name` for a run: its catalog entry (rendered) or its run-scoped artifact. */
export async function resolveDataset(config: AirlockConfig, catalog: Catalog, run: DagRun, dag: SerializedDag, name: string): Promise<DatasetLocation> {
  const entry = catalog[name];
  if (!entry) return artifactLocation(config, run, name, "json");
  return locate(config, await renderPath(entry.path, run, dag, name), entry.type);
}
