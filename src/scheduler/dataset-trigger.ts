/**
 * Data-aware scheduling (Airflow's datasets): a DAG with `schedule: { datasets: [...] }` gets a run once every
 * listed dataset has a version newer than the last one its runs consumed. Versions written before the DAG was
 * first seen do not count, as in Airflow, where only events after a consumer exists are queued for it.
 */
import type { AirlockContext } from "../core/context.js";
import { runTasks } from "../core/actions.js";
import { resolveParams } from "../core/params.js";
import type { DagRecord } from "../store/types.js";

/** Creates the DAG's dataset-triggered run when due; returns whether it created one. */
export async function createDatasetRun(ctx: AirlockContext, d: DagRecord): Promise<boolean> {
  const names = d.serialized.scheduleDatasets ?? [];
  if (names.length === 0) return false;
  const { store } = ctx;
  const latest = await store.latestDatasetVersionIds(names);
  const newest = Math.max(0, ...latest.values());
  const mark = await store.getDatasetWatermark(d.dagId);
  if (mark === null) {
    await store.advanceDatasetWatermark(d.dagId, 0, newest);
    return false;
  }
  if (!names.every((n) => (latest.get(n) ?? 0) > mark)) return false;
  // The watermark moves first (compare-and-set): two schedulers cannot both create the run for one set of versions.
  if (!(await store.advanceDatasetWatermark(d.dagId, mark, newest))) return false;
  const now = new Date().toISOString();
  const s = d.serialized;
  return store.createRun({
    runId: `dataset_triggered__${d.dagId}__${now}`, dagId: d.dagId, runType: "dataset_triggered", logicalDate: now,
    dataIntervalStart: now, dataIntervalEnd: now, conf: {}, params: resolveParams(s, {}), versionHash: d.versionHash, tasks: runTasks(s),
  });
}
