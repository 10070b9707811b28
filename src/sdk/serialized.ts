import type { Dag } from "./dag.js";
import type { Catalog } from "./catalog.js";
import { pipelineOf } from "./pipeline.js";
import { parseDuration } from "./duration.js";
import { serializedRole } from "./setup-teardown.js";
import { CALLBACK_EVENTS, serializedCallbacks, type CallbackEvent, type SerializedCallback } from "./notify.js";
import { DAG_CALLBACK_EVENTS } from "./dag.js";

/** `{ [key]: value }` when value is set, else nothing: absent fields keep older DAGs' version hashes. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
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
  /** The task's own `reuse` (absent when it set none: its environment's applies, else false). */
  reuse?: boolean;
  grants: Required<Grants>;
  doc: string | null;
  /** Own priority weight; optional because DAG versions stored before it existed lack it (read as 1). */
  priorityWeight?: number;
  /** Optional for the same reason (read as "downstream"). */
  weightRule?: WeightRule;
  /** The task group it belongs to ("extract", nested "extract.files"); absent outside groups. */
  group?: string;
  /** A setup task (absent otherwise). */
  setup?: true;
  /** A teardown task (absent otherwise). */
  teardown?: true;
  /** For a teardown: the setup tasks upstream of it; it runs only if one of them succeeded. */
  setups?: string[];
  /** For a teardown: its failure fails the run. */
  onFailureFailDagrun?: true;
  /** Waits for its own success (or skip) in the previous run. */
  dependsOnPast?: true;
  /** Its callbacks by event (absent when none). */
  callbacks?: Partial<Record<CallbackEvent, SerializedCallback[]>>;
  /** How long after its run started it should have succeeded (absent: no sla). */
  slaMs?: number;
  /** A mapped task: the upstream task whose XCom list it is expanded over (absent otherwise). */
  mapOver?: string;
  /** Bound on its instances running at once across the DAG's runs (absent: none). */
  maxActiveTisPerDag?: number;
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
  /** A run going longer than this fails (absent: no limit). */
  dagrunTimeoutMs?: number;
  /** Failed runs in a row after which the DAG is paused (absent: never). */
  maxConsecutiveFailedRuns?: number;
  /** Its run callbacks by event (absent when none). */
  callbacks?: Partial<Record<CallbackEvent, SerializedCallback[]>>;
  /** Datasets whose new versions start a run (data-aware schedule); absent or empty for time schedules. */
  scheduleDatasets?: string[];
  /** Present when the DAG is a pipeline. */
  pipeline?: SerializedPipeline;
  /** Task ids in topological order; independent tasks in the order they were declared. */
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
      // Only set inside a group, so DAGs without groups keep their version hash.
      ...(t.group ? { group: t.group } : {}),
      ...serializedRole(d, t),
      ...(to.dependsOnPast ? { dependsOnPast: true as const } : {}),
      ...optional("callbacks", serializedCallbacks(`task "${id}"`, to, CALLBACK_EVENTS)),
      ...optional("mapOver", t.mapOver),
      ...optional("maxActiveTisPerDag", to.maxActiveTisPerDag),
      ...optional("reuse", to.reuse),
      ...optional("slaMs", to.sla === undefined ? undefined : parseDuration(to.sla, "sla")),
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
    // Set only when given, so DAGs without them keep their version hash.
    ...(o.dagrunTimeout !== undefined ? { dagrunTimeoutMs: parseDuration(o.dagrunTimeout, "dagrunTimeout") } : {}),
    ...(o.maxConsecutiveFailedRuns !== undefined ? { maxConsecutiveFailedRuns: o.maxConsecutiveFailedRuns } : {}),
    ...optional("callbacks", serializedCallbacks(`dag "${d.id}"`, o, DAG_CALLBACK_EVENTS)),
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
