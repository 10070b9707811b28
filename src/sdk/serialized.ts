import type { Dag } from "./dag.js";
import { parseDuration } from "./duration.js";
import type { OperatorKind } from "./operator-spec.js";
import type { BackendName, Grants, Resources, TriggerRule } from "./types.js";

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
  params: Record<string, unknown>;
  paramsSchema: Record<string, unknown> | null;
  tags: string[];
  /** Paused when first recorded; null = the project default (`scheduler.dagsArePausedAtCreation`). */
  pausedOnCreation: boolean | null;
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
    };
  }
  return {
    id: d.id,
    description: o.description ?? null,
    schedule: o.schedule ?? null,
    timezone: o.timezone ?? "UTC",
    startDate: o.startDate ?? null,
    endDate: o.endDate ?? null,
    catchup: o.catchup ?? false,
    maxActiveRuns: o.maxActiveRuns ?? 16,
    params: JSON.parse(JSON.stringify(o.params ?? {})) as Record<string, unknown>,
    paramsSchema: o.paramsSchema ?? null,
    tags: o.tags ?? [],
    pausedOnCreation: o.pausedOnCreation ?? null,
    order,
    tasks,
  };
}
