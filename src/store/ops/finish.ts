/**
 * Ending tries, many at once. A worker under load finishes tries faster than it can commit them one by one, so its
 * completions are written in batches: one transaction, one conditional UPDATE per group of tries that end the same
 * way (most succeed alike), one per group of instances that move alike, one INSERT of XComs and one of changes.
 * Every try is still guarded on its own: it ends only while running and, with a fence, only while that worker and
 * epoch own it; its instance moves only while still running that very try.
 */
import type { Db } from "../kysely-store.js";
import type { TryFinish } from "../store.js";
import { insertChanges, type NewChange } from "./changes.js";
import { appendLogChunk } from "./log-chunks.js";
import { instanceChunks, instanceCondition, instanceKey } from "./mapping.js";

const keyOf = (it: FinishItem): string => instanceKey(it.key.taskId, it.key.mapIndex ?? -1);

type FinishItem = TryFinish;

/** Task ids per UPDATE: well inside SQLite's and Postgres's bound-parameter limits. */
const IDS_PER_STATEMENT = 500;
/** XCom rows per INSERT (7 parameters each). */
const XCOMS_PER_INSERT = 200;

/** Groups item indexes by a key, keeping first-seen order. */
function groupBy(indexes: number[], key: (i: number) => string): number[][] {
  const groups = new Map<string, number[]>();
  for (const i of indexes) {
    const k = key(i);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  return [...groups.values()];
}

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * Ends the tries of `items` inside the caller's write transaction; returns, per item, whether its try ended (false
 * when it was not running, or is no longer owned by the fence's worker and epoch). A try named twice ends once.
 */
export async function finishTries(db: Db, items: FinishItem[], at: string): Promise<boolean[]> {
  const ended = new Map<number, string>(); // item index → dag id
  const taken = new Set<string>();
  const unique = items.map((_, i) => i).filter((i) => {
    const k = items[i] as FinishItem;
    const id = JSON.stringify([k.key.runId, k.key.taskId, k.key.mapIndex ?? -1, k.key.tryNumber]);
    if (taken.has(id)) return false;
    taken.add(id);
    return true;
  });

  // The tries: grouped by everything an UPDATE sets or guards on besides the task id.
  const tryGroups = groupBy(unique, (i) => {
    const { key, outcome, fence } = items[i] as FinishItem;
    return JSON.stringify([key.runId, key.tryNumber, outcome.state, outcome.exitCode, outcome.error, fence?.workerId ?? null, fence?.epoch ?? null]);
  });
  for (const group of tryGroups) {
    const { key, outcome, fence } = items[group[0] as number] as FinishItem;
    const byInstance = new Map(group.map((i) => [keyOf(items[i] as FinishItem), i]));
    for (const chunk of instanceChunks(group.map((i) => (items[i] as FinishItem).key), IDS_PER_STATEMENT)) {
      let q = db.updateTable("task_tries").set({
        state: outcome.state, ended_at: at, exit_code: outcome.exitCode, error: outcome.error ? JSON.stringify(outcome.error) : null,
      }).where("run_id", "=", key.runId).where("try_number", "=", key.tryNumber).where(instanceCondition(chunk))
        .where("state", "=", "running");
      if (fence) q = q.where("worker_id", "=", fence.workerId).where("epoch", "=", fence.epoch);
      for (const r of await q.returning(["task_id", "map_index", "dag_id"]).execute()) {
        const i = byInstance.get(instanceKey(r.task_id, Number(r.map_index)));
        if (i !== undefined) ended.set(i, r.dag_id);
      }
    }
  }

  // Their instances: moved only while still running that try (a clear or a mark meanwhile wins).
  const done = unique.filter((i) => ended.has(i));
  const moved = new Set<number>();
  const instanceGroups = groupBy(done, (i) => {
    const { key, outcome } = items[i] as FinishItem;
    return JSON.stringify([key.runId, key.tryNumber, outcome.taskState, outcome.notBefore ?? null]);
  });
  for (const group of instanceGroups) {
    const { key, outcome } = items[group[0] as number] as FinishItem;
    const stillRunning = outcome.taskState === "up_for_retry";
    const byInstance = new Map(group.map((i) => [keyOf(items[i] as FinishItem), i]));
    for (const chunk of instanceChunks(group.map((i) => (items[i] as FinishItem).key), IDS_PER_STATEMENT)) {
      const rows = await db.updateTable("task_instances").set({
        state: outcome.taskState, end_date: stillRunning ? null : at, not_before: outcome.notBefore ?? null, updated_at: at,
      }).where("run_id", "=", key.runId).where("try_number", "=", key.tryNumber).where(instanceCondition(chunk))
        .where("state", "=", "running").returning(["task_id", "map_index"]).execute();
      for (const r of rows) {
        const i = byInstance.get(instanceKey(r.task_id, Number(r.map_index)));
        if (i !== undefined) moved.add(i);
      }
    }
  }

  const xcoms = done.flatMap((i) => {
    const { key, outcome } = items[i] as FinishItem;
    if (outcome.xcomJson === undefined || outcome.xcomJson === null) return [];
    return [{ run_id: key.runId, task_id: key.taskId, map_index: key.mapIndex ?? -1, try_number: key.tryNumber, value: outcome.xcomJson, size: Buffer.byteLength(outcome.xcomJson), created_at: at }];
  });
  for (const chunk of chunks(xcoms, XCOMS_PER_INSERT)) await db.insertInto("xcoms").values(chunk).execute();

  // The instance may have been cleared or marked meanwhile; the try still ends, the instance keeps its new state.
  const changes: NewChange[] = done.map((i) => {
    const { key, outcome } = items[i] as FinishItem;
    return { kind: "task", dagId: ended.get(i) ?? null, runId: key.runId, taskId: key.taskId, tryNumber: key.tryNumber, state: moved.has(i) ? outcome.taskState : outcome.state };
  });
  await insertChanges(db, changes, at);
  for (const i of unique) {
    const { key, outcome } = items[i] as FinishItem;
    if (outcome.logTail) await appendLogChunk(db, key, outcome.logTail.offset, outcome.logTail.text, outcome.logTail.times);
  }
  return items.map((_, i) => ended.has(i));
}
