import type { Dag } from "./dag.js";
import type { Catalog } from "./catalog.js";
import { pipelineOf } from "./pipeline.js";
import { parseDuration } from "./duration.js";
import type { OperatorKind } from "./operator-spec.js";
import type { BackendName, Grants, Resources, TriggerRule, WeightRule } from "./types.js";

/** A task as stored: JSON only, every default filled in. */
export interface SerializedTask {
  id: string;
  kind: OperatorKind;
  args: Record<string, unknown>;
  templateFields: string[];
  upstream: string[];
  downstream: string[];
  retries: number;
  retryDelayMs: number;
  retryExponentialBackoff: boolean;
  maxRetryDelayMs: number | null;
  executionTimeoutMs: number | null;
  triggerRule: TriggerRule;
  pool: string;
  queue: string;
  environment: string | null;
  backend: BackendName | null;
  resources: Resources | null;
  network: "none" | "host";
  grants: Required<Grants>;
  doc: string | null;
  /** Own priority weight; optional because DAG versions stored before it existed lack it (read as 1). */
  priorityWeight?: number;
  /** Optional for the same reason (read as "downstream"). */
  weightRule?: WeightRule;
  /** Datasets a pipeline node reads and writes (absent for plain tasks). */
  datasets?: { inputs: string[]; outputs: string[] };
  /** Tags of a pipeline node. */
  tags?: string[];
}

/** What a pipeline DAG adds: its inline catalog and, per dataset, the node writing it and those reading it. */
export interface SerializedPipeline {
  catalog: Catalog;
  datasets: Record<string, { producer: string | null; consumers: string[] }>;
}

/** A DAG as stored and shown: JSON only. Produced by parsing a DAG file in a child process. */
export interface SerializedDag {
  id: string;
  description: string | null;
  schedule: string | null;
  timezone: string;
  startDate: string | null;
  endDate: string | null;
  catchup: boolean;
  maxActiveRuns: number;
  /** Bound on running task instances of the DAG; null for none (absent in versions stored before it existed). */
  maxActiveTasks?: number | null;
  params: Record<string, unknown>;
  paramsSchema: Record<string, unknown> | null;
  tags: string[];
  /** Paused when first recorded; null = the project default (`scheduler.dagsArePausedAtCreation`). */
  pausedOnCreation: boolean | null;
  /** Datasets whose new versions start a run (data-aware schedule); absent or empty for time schedules. */
  scheduleDatasets?: string[];
  /** Present when the DAG is a pipeline. */
  pipeline?: SerializedPipeline;
  /** Task ids in topological order. */
  order: string[];
  tasks: Record<string, SerializedTask>;
}

/** Default retry delay when a task sets none. */
export const DEFAULT_RETRY_DELAY_MS = 30_000;

/** Turns a DAG object into its stored JSON form. */
export function serializeDag(d: Dag): SerializedDag {
  const o = d.options;
  const order = d.topologicalOrder();
  const tasks: Record<string, SerializedTask> = {};
  for (const id of order) {
    const t = d.tasks.get(id);
    if (!t) continue;
    const to = t.options;
    tasks[id] = {
      id,
      kind: t.spec.kind,
      args: JSON.parse(JSON.stringify(t.spec.args)) as Record<string, unknown>,
      templateFields: t.spec.templateFields,
      upstream: [...t.upstream].sort(),
      downstream: [...t.downstream].sort(),
      retries: to.retries ?? 0,
      retryDelayMs: to.retryDelay === undefined ? DEFAULT_RETRY_DELAY_MS : parseDuration(to.retryDelay, "retryDelay"),
      retryExponentialBackoff: to.retryExponentialBackoff ?? false,
      maxRetryDelayMs: to.maxRetryDelay === undefined ? null : parseDuration(to.maxRetryDelay, "maxRetryDelay"),
      executionTimeoutMs: to.executionTimeout === undefined ? null : parseDuration(to.executionTimeout, "executionTimeout"),
      triggerRule: to.triggerRule ?? "all_success",
      pool: to.pool ?? "default",
      queue: to.queue ?? "default",
      environment: to.environment ?? null,
      backend: to.backend ?? null,
      resources: to.resources ?? null,
      network: to.network ?? "none",
      grants: { connections: to.grants?.connections ?? [], variables: to.grants?.variables ?? [] },
      doc: to.doc ?? null,
      priorityWeight: to.priorityWeight ?? 1,
      weightRule: to.weightRule ?? "downstream",
    };
    if (t.datasets) Object.assign(tasks[id] as SerializedTask, { datasets: t.datasets, tags: t.tags ?? [] });
  }
  const out: SerializedDag = {
    id: d.id,
    description: o.description ?? null,
    schedule: typeof o.schedule === "string" ? o.schedule : null,
    timezone: o.timezone ?? "UTC",
    startDate: o.startDate ?? null,
    endDate: o.endDate ?? null,
    catchup: o.catchup ?? false,
    maxActiveRuns: o.maxActiveRuns ?? 16,
    maxActiveTasks: o.maxActiveTasks ?? null,
    params: JSON.parse(JSON.stringify(o.params ?? {})) as Record<string, unknown>,
    paramsSchema: o.paramsSchema ?? null,
    tags: o.tags ?? [],
    pausedOnCreation: o.pausedOnCreation ?? null,
    order,
    tasks,
  };
  if (typeof o.schedule === "object" && o.schedule !== null) out.scheduleDatasets = [...o.schedule.datasets];
  const p = pipelineOf(d);
  if (p) {
    const datasets: SerializedPipeline["datasets"] = {};
    const entry = (name: string) => (datasets[name] ??= { producer: null, consumers: [] });
    for (const n of p.nodes) {
      for (const i of n.inputs) if (!i.startsWith("params:")) entry(i).consumers.push(n.name);
      for (const w of n.outputs) entry(w).producer = n.name;
    }
    out.pipeline = { catalog: p.catalog, datasets };
  }
  return out;
}
