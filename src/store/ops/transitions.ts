/**
 * Batched task-instance transitions. A run's first wave queues thousands of instances at once, and one statement per
 * instance (plus a read-back and a change row each) made that wave cost tens of thousands of round trips. Here items
 * with the same guard and patch become one conditional UPDATE … RETURNING per few hundred instances, and their
 * change rows one INSERT. Each item still applies only while its instance is in one of its `from` states.
 */
import type { Updateable } from "kysely";
import type { Db } from "../kysely-store.js";
import type { TaskInstancesTable } from "../schema.js";
import type { TaskPatch } from "../store.js";
import type { TaskState } from "../types.js";
import { insertChanges, type NewChange } from "./changes.js";
import { instanceChunks, instanceCondition, instanceKey } from "./mapping.js";

/** One conditional transition of a task instance of the run. */
export interface TransitionItem {
  taskId: string;
  /** A mapped instance's index (absent or -1: the task's only instance). */
  mapIndex?: number;
  from: TaskState[];
  patch: TaskPatch;
}

/** Task ids per UPDATE: well inside SQLite's and Postgres's bound-parameter limits. */
const IDS_PER_STATEMENT = 500;

/** The columns a patch sets. */
export function patchColumns(patch: TaskPatch, at: string): Updateable<TaskInstancesTable> {
  const set: Updateable<TaskInstancesTable> = { state: patch.state, updated_at: at };
  if (patch.notBefore !== undefined) set.not_before = patch.notBefore;
  if (patch.startDate !== undefined) set.start_date = patch.startDate;
  if (patch.endDate !== undefined) set.end_date = patch.endDate;
  if (patch.tryNumber !== undefined) set.try_number = patch.tryNumber;
  if (patch.isolation !== undefined) set.isolation = patch.isolation;
  if (patch.maxTries !== undefined) set.max_tries = patch.maxTries;
  if (patch.queue !== undefined) set.queue = patch.queue;
  return set;
}

/**
 * Applies `items` to instances of `runId` inside the caller's write transaction; returns the task ids applied, in
 * item order. An item naming a task that an earlier item of the same call names sees that earlier item's result,
 * as if the items were applied one by one.
 */
export async function applyTransitions(db: Db, runId: string, items: TransitionItem[], at: string): Promise<string[]> {
  const applied = new Set<number>();
  const rows = new Map<number, { dagId: string; tryNumber: number }>();
  // Rounds in which every task appears once keep the one-by-one meaning for repeated tasks.
  for (const round of rounds(items)) {
    const groups = new Map<string, number[]>();
    for (const i of round) {
      const it = items[i] as TransitionItem;
      const key = JSON.stringify([[...it.from].sort(), it.patch]);
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    }
    for (const indexes of groups.values()) {
      const first = items[indexes[0] as number] as TransitionItem;
      const set = patchColumns(first.patch, at);
      const byInstance = new Map(indexes.map((i) => [keyOf(items[i] as TransitionItem), i]));
      for (const chunk of instanceChunks(indexes.map((i) => items[i] as TransitionItem), IDS_PER_STATEMENT)) {
        let q = db.updateTable("task_instances").set(set).where("run_id", "=", runId).where(instanceCondition(chunk));
        if (first.from.length > 0) q = q.where("state", "in", first.from);
        for (const r of await q.returning(["task_id", "map_index", "dag_id", "try_number"]).execute()) {
          const i = byInstance.get(instanceKey(r.task_id, Number(r.map_index)));
          if (i === undefined) continue;
          applied.add(i);
          rows.set(i, { dagId: r.dag_id, tryNumber: Number(r.try_number) });
        }
      }
    }
  }
  const order = [...applied].sort((a, b) => a - b);
  const changes: NewChange[] = order.map((i) => {
    const it = items[i] as TransitionItem;
    const row = rows.get(i);
    return { kind: "task", dagId: row?.dagId ?? null, runId, taskId: it.taskId, tryNumber: row?.tryNumber ?? null, state: it.patch.state };
  });
  await insertChanges(db, changes, at);
  return order.map((i) => keyOf(items[i] as TransitionItem));
}

const keyOf = (it: TransitionItem): string => instanceKey(it.taskId, it.mapIndex ?? -1);

/** Splits item indexes into consecutive rounds in which no task id repeats. */
function rounds(items: TransitionItem[]): number[][] {
  const out: number[][] = [];
  let seen = new Set<string>();
  let current: number[] = [];
  items.forEach((it, i) => {
    if (seen.has(keyOf(it))) {
      out.push(current);
      current = [];
      seen = new Set();
    }
    seen.add(keyOf(it));
    current.push(i);
  });
  if (current.length > 0) out.push(current);
  return out;
}
