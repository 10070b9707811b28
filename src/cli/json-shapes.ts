/**
 * The JSON the CLI prints with --json, in one place. The rules (documented in the README):
 * - a list is an object `{items: [...]}` (plus list-level fields such as `total` or `importErrors`), never a bare array;
 * - every object has exactly one field that identifies it: `<kind>Id` (dagId, runId, taskId, workerId, connId,
 *   pipelineId, versionId, eventId) or, for things named by the user, `name` (pools, environments, datasets), `key`
 *   (variables) or `target` (routes); references to other things keep their own id names (a run's `dagId`);
 * - a run's outcome (`dags test`, `dags trigger --wait`, `pipelines run-once --wait`, `tasks states`) is DESIGN.md's
 *   `{dagId, runId, state, tasks: [{taskId, state, tryNumber, isolation, xcom}]}`.
 */
import type { PublicConnection } from "../core/connections.js";
import type { DagRecord, DagRun, DatasetSummary, DatasetVersion } from "../store/types.js";
import { runStartsAt } from "../scheduler/timetable.js";

/** A list as printed: `{items, ...extra}`. */
export function listJson<T>(items: T[], extra: Record<string, unknown> = {}): { items: T[] } & Record<string, unknown> {
  return { items, ...extra };
}

/** A DAG in `dags list --json`, the same whether it comes from the local store or from a server. */
export interface DagListItem {
  dagId: string;
  description: string | null;
  fileloc: string;
  schedule: string | null;
  timezone: string;
  tags: string[];
  isPaused: boolean;
  pausedReason: string | null;
  taskCount: number;
  nextLogicalDate: string | null;
  nextRunAt: string | null;
  lastRun: { runId: string; state: string } | null;
}

/** A DAG of the local store as a list item. */
export function dagListItem(d: DagRecord, lastRun: DagRun | undefined): DagListItem {
  const s = d.serialized;
  return {
    dagId: d.dagId, description: s.description, fileloc: d.fileloc, schedule: s.schedule, timezone: s.timezone, tags: s.tags,
    isPaused: d.isPaused, pausedReason: d.pausedReason ?? null, taskCount: s.order.length, nextLogicalDate: d.nextLogicalDate,
    nextRunAt: runStartsAt(s, d.nextLogicalDate), lastRun: lastRun ? { runId: lastRun.runId, state: lastRun.state } : null,
  };
}

/** `dags show --json`: the DAG's options with its tasks as a list in declared order, each with its `taskId`. */
export function dagShowJson(d: DagRecord): Record<string, unknown> {
  const { id: _id, order, tasks, ...options } = d.serialized;
  return {
    dagId: d.dagId, fileloc: d.fileloc, isPaused: d.isPaused, pausedReason: d.pausedReason ?? null, ...options,
    tasks: order.map((taskId) => {
      const { id: _taskId, ...task } = tasks[taskId] ?? ({ id: taskId } as { id: string });
      return { taskId, ...task };
    }),
  };
}

/** A connection as listed: `connId` instead of `id`; never a password. */
export function connectionItem(c: PublicConnection): Record<string, unknown> {
  const { id, ...rest } = c;
  return { connId: id, ...rest };
}

/** A dataset version without the dataset's name (the object around it has it); `versionId` instead of `id`. */
export function datasetVersionItem(v: DatasetVersion): Record<string, unknown> {
  const { id, name: _name, ...rest } = v;
  return { versionId: id, ...rest };
}

/** A dataset in `datasets list --json`. */
export function datasetListItem(d: DatasetSummary): Record<string, unknown> {
  return { name: d.name, versions: d.versions, latest: datasetVersionItem(d.latest) };
}
