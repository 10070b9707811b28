/**
 * Sealed data flow of a pipeline node, done by the orchestrator: before a try, exactly the node's inputs are made
 * readable to it (local files by path, objects streamed into the try's directory); after a successful try, exactly
 * its declared outputs are taken from its scratch directory and published atomically, then recorded as versions.
 * The node itself holds no storage credential and sees no other dataset.
 */
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type { AirlockContext } from "../core/context.js";
import { PARAMS_PREFIX } from "../sdk/catalog.js";
import type { SerializedDag, SerializedTask } from "../sdk/serialized.js";
import { outputPath, type PayloadDatasets } from "../runner/protocol.js";
import type { DagRun } from "../store/types.js";
import { effectiveCatalog, locate, resolveDataset, type DatasetLocation } from "./catalog.js";
import { getObject, listObjects, putObject, type S3Settings } from "./s3.js";

/** A dataset could not be staged or published; the message names the node and dataset. */
export class DatasetError extends Error {
  override name = "DatasetError";
}

/** The object store settings, or a clear error when an s3:// dataset is used without them. */
export function s3Settings(ctx: AirlockContext, uri: string): S3Settings {
  const d = ctx.config.datasets;
  if (!d.s3Endpoint || !d.s3AccessKeyId || !d.s3SecretAccessKey) {
    throw new DatasetError(`dataset ${uri} is in object storage, but no object store is configured: set datasets.s3Endpoint, datasets.s3AccessKeyId and datasets.s3SecretAccessKey (or AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)`);
  }
  return { endpoint: d.s3Endpoint, region: d.s3Region, accessKeyId: d.s3AccessKeyId, secretAccessKey: d.s3SecretAccessKey };
}

function sizeOf(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((sum, e) => sum + sizeOf(path.join(p, e)), 0);
}

async function download(ctx: AirlockContext, loc: Extract<DatasetLocation, { kind: "s3" }>, dest: string): Promise<void> {
  const s3 = s3Settings(ctx, loc.uri);
  mkdirSync(path.dirname(dest), { recursive: true });
  if (loc.type !== "folder") {
    await getObject(s3, loc.bucket, loc.key, dest);
    return;
  }
  const prefix = `${loc.key.replace(/\/$/, "")}/`;
  mkdirSync(dest, { recursive: true });
  for (const o of await listObjects(s3, loc.bucket, prefix)) {
    const file = path.join(dest, o.key.slice(prefix.length));
    if (!file.startsWith(dest + path.sep)) continue;
    mkdirSync(path.dirname(file), { recursive: true });
    await getObject(s3, loc.bucket, o.key, file);
  }
}

/** Stages a node's inputs; returns the payload's datasets and the paths the try must be able to read. */
export async function stageInputs(ctx: AirlockContext, input: { run: DagRun; dag: SerializedDag; task: SerializedTask; tryDir: string; scratchDir: string }): Promise<{ datasets: PayloadDatasets; readable: string[] }> {
  const { run, dag, task } = input;
  const catalog = effectiveCatalog(ctx.config, dag);
  const datasets: PayloadDatasets = { inputs: {}, outputs: {} };
  const readable: string[] = [];
  for (const name of task.datasets?.inputs ?? []) {
    if (name.startsWith(PARAMS_PREFIX)) continue;
    const producer = dag.pipeline?.datasets[name]?.producer ?? null;
    let loc = await resolveDataset(ctx.config, catalog, run, dag, name);
    if (producer) {
      // Read exactly the version this run's producer published, never a half-written or foreign one.
      const version = await ctx.store.getRunDatasetVersion(run.runId, name);
      if (!version) throw new DatasetError(`node "${task.id}" reads "${name}", but node "${producer}" has not published it in run ${run.runId}: clear "${producer}" so it runs again`);
      loc = locate(ctx.config, version.uri, loc.type);
    }
    if (loc.kind === "local") {
      if (!existsSync(loc.path)) throw new DatasetError(`node "${task.id}" reads dataset "${name}", which does not exist at ${loc.path}: create it, or fix its path in catalog.yaml`);
      datasets.inputs[name] = { type: loc.type, path: loc.path };
      readable.push(loc.path);
    } else {
      const dest = path.join(input.tryDir, "in", name);
      try {
        await download(ctx, loc, dest);
      } catch (err) {
        throw new DatasetError(`node "${task.id}" reads dataset "${name}" from ${loc.uri}: ${(err as Error).message}`, { cause: err });
      }
      datasets.inputs[name] = { type: loc.type, path: dest };
      readable.push(dest);
    }
  }
  for (const name of task.datasets?.outputs ?? []) {
    datasets.outputs[name] = { type: catalog[name]?.type ?? "json", path: outputPath(input.scratchDir, name) };
  }
  return { datasets, readable };
}

/** Replaces `dest` with `src` so that readers see the old or the new version, never a partial one. */
function publishLocal(src: string, dest: string): void {
  mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.airlock-${randomBytes(6).toString("hex")}`;
  cpSync(src, tmp, { recursive: true });
  if (statSync(tmp).isDirectory() && existsSync(dest)) {
    // rename() cannot replace a non-empty directory: move the old one aside first.
    const old = `${tmp}.old`;
    renameSync(dest, old);
    renameSync(tmp, dest);
    rmSync(old, { recursive: true, force: true });
    return;
  }
  renameSync(tmp, dest);
}

async function upload(ctx: AirlockContext, src: string, loc: Extract<DatasetLocation, { kind: "s3" }>): Promise<void> {
  const s3 = s3Settings(ctx, loc.uri);
  if (!statSync(src).isDirectory()) return putObject(s3, loc.bucket, loc.key, src);
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(path.join(dir, e.name), `${rel}${e.name}/`);
      else await putObject(s3, loc.bucket, `${loc.key.replace(/\/$/, "")}/${rel}${e.name}`, path.join(dir, e.name));
    }
  };
  await walk(src, "");
}

/** Publishes a succeeded node's declared outputs and records their versions; throws naming a missing output. */
export async function publishOutputs(ctx: AirlockContext, input: { run: DagRun; dag: SerializedDag; task: SerializedTask; scratchDir: string; tryNumber: number }): Promise<void> {
  const { run, dag, task } = input;
  const catalog = effectiveCatalog(ctx.config, dag);
  const outputs = task.datasets?.outputs ?? [];
  for (const name of outputs) {
    if (!existsSync(outputPath(input.scratchDir, name))) {
      throw new DatasetError(`node "${task.id}" succeeded but did not produce its declared output "${name}": make it write every output it declares (or remove "${name}" from its outputs)`);
    }
  }
  for (const name of outputs) {
    const src = outputPath(input.scratchDir, name);
    const loc = await resolveDataset(ctx.config, catalog, run, dag, name);
    try {
      if (loc.kind === "local") publishLocal(src, loc.path);
      else await upload(ctx, src, loc);
    } catch (err) {
      throw new DatasetError(`publishing output "${name}" of node "${task.id}" to ${loc.uri} failed: ${(err as Error).message}`, { cause: err });
    }
    await ctx.store.addDatasetVersion({ name, dagId: dag.id, runId: run.runId, taskId: task.id, tryNumber: input.tryNumber, type: loc.type, uri: loc.uri, size: sizeOf(src) });
  }
}
