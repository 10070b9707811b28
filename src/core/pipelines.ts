/** What users see of pipelines and datasets (the CLI and the API share these views). */
import type { AirlockContext } from "./context.js";
import { NotFoundError } from "./errors.js";
import type { CatalogEntry } from "../sdk/catalog.js";
import type { DagRecord, DatasetVersion } from "../store/types.js";
import { effectiveCatalog } from "../datasets/catalog.js";

/** One node of a pipeline as shown. */
export interface PipelineNodeView {
  name: string;
  kind: string;
  inputs: string[];
  outputs: string[];
  tags: string[];
  environment: string | null;
  backend: string | null;
  upstream: string[];
}

/** A pipeline: its nodes, its datasets (with storage) and the DAG's tasks it compiles to. */
export interface PipelineView {
  pipelineId: string;
  fileloc: string;
  description: string | null;
  schedule: string | null;
  scheduleDatasets: string[];
  isPaused: boolean;
  nodes: PipelineNodeView[];
  datasets: Array<{ name: string; producer: string | null; consumers: string[]; storage: CatalogEntry | null }>;
  /** Every task of the compiled DAG in order (nodes plus external-dependency sensors). */
  tasks: Array<{ taskId: string; kind: string; upstream: string[] }>;
}

/** A pipeline DAG's view; the catalog is read to show where each dataset lives. */
export function pipelineView(ctx: AirlockContext, d: DagRecord): PipelineView {
  const s = d.serialized;
  let catalog: Record<string, CatalogEntry> = s.pipeline?.catalog ?? {};
  try {
    catalog = effectiveCatalog(ctx.config, s);
  } catch {
    // A broken catalog.yaml is reported when the DAG is parsed; the view still shows the pipeline's own entries.
  }
  const tasks = s.order.map((id) => s.tasks[id]).filter((t) => t !== undefined);
  return {
    pipelineId: s.id, fileloc: d.fileloc, description: s.description, schedule: s.schedule, scheduleDatasets: s.scheduleDatasets ?? [],
    isPaused: d.isPaused,
    nodes: tasks.filter((t) => t.datasets).map((t) => ({
      name: t.id, kind: t.kind === "node" ? "run" : t.kind === "bash" ? "command" : t.kind, inputs: t.datasets?.inputs ?? [],
      outputs: t.datasets?.outputs ?? [], tags: t.tags ?? [], environment: t.environment, backend: t.backend, upstream: t.upstream,
    })),
    datasets: Object.entries(s.pipeline?.datasets ?? {}).sort(([a], [b]) => a.localeCompare(b))
      .map(([name, x]) => ({ name, producer: x.producer, consumers: x.consumers, storage: catalog[name] ?? null })),
    tasks: tasks.map((t) => ({ taskId: t.id, kind: t.kind, upstream: t.upstream })),
  };
}

/** Every active pipeline DAG. */
export async function listPipelineDags(ctx: AirlockContext): Promise<DagRecord[]> {
  const { dags } = await ctx.store.listDags({ limit: 1000 });
  return dags.filter((d) => d.serialized.pipeline);
}

/** A pipeline DAG by id, or a NotFoundError saying where to look. */
export async function requirePipeline(ctx: AirlockContext, id: string): Promise<DagRecord> {
  const d = await ctx.store.getDag(id);
  if (!d || !d.isActive) throw new NotFoundError("Pipeline", id, "List pipelines with `airlock pipelines list` (import errors show in `airlock dags list`)");
  if (!d.serialized.pipeline) throw new NotFoundError("Pipeline", id, `"${id}" is a DAG but not a pipeline: use \`airlock dags\` commands for it`);
  return d;
}

/** A dataset and its versions, newest first. */
export async function datasetDetail(ctx: AirlockContext, name: string): Promise<{ name: string; versions: DatasetVersion[] }> {
  const versions = await ctx.store.listDatasetVersions(name, 100);
  if (versions.length === 0) throw new NotFoundError("Dataset", name, "List datasets with `airlock datasets list`; a dataset appears once a node has written it");
  return { name, versions };
}
