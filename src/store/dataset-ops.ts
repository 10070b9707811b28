/** Dataset versions and data-aware schedule watermarks: the store's dataset operations, one function each. */
import type { Selectable } from "kysely";
import type { Db } from "./kysely-store.js";
import type { DatasetVersionsTable } from "./schema.js";
import type { DatasetSummary, DatasetVersion } from "./types.js";

/** A row as the core sees it. */
export function toDatasetVersion(r: Selectable<DatasetVersionsTable>): DatasetVersion {
  return {
    id: Number(r.id), name: r.name, dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, tryNumber: Number(r.try_number),
    type: r.type, uri: r.uri, size: Number(r.size), createdAt: r.created_at,
  };
}

/** Inserts a version and returns it with its id. */
export async function insertDatasetVersion(db: Db, v: Omit<DatasetVersion, "id" | "createdAt">, at: string): Promise<DatasetVersion> {
  const row = await db.insertInto("dataset_versions").values({
    name: v.name, dag_id: v.dagId, run_id: v.runId, task_id: v.taskId, try_number: v.tryNumber, type: v.type, uri: v.uri,
    size: v.size, created_at: at,
  }).returningAll().executeTakeFirstOrThrow();
  return toDatasetVersion(row);
}

/** Every dataset's newest version and version count. */
export async function selectDatasets(db: Db): Promise<DatasetSummary[]> {
  const counts = await db.selectFrom("dataset_versions").select(["name"]).select((eb) => [eb.fn.max("id").as("latest"), eb.fn.countAll().as("n")])
    .groupBy("name").orderBy("name").execute();
  if (counts.length === 0) return [];
  const latest = await db.selectFrom("dataset_versions").selectAll().where("id", "in", counts.map((c) => Number(c.latest))).execute();
  const byId = new Map(latest.map((r) => [Number(r.id), toDatasetVersion(r)]));
  return counts.map((c) => ({ name: c.name, versions: Number(c.n), latest: byId.get(Number(c.latest)) as DatasetVersion }));
}

/** Newest version id per name. */
export async function selectLatestIds(db: Db, names: string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const rows = await db.selectFrom("dataset_versions").select("name").select((eb) => eb.fn.max("id").as("latest"))
    .where("name", "in", names).groupBy("name").execute();
  return new Map(rows.map((r) => [r.name, Number(r.latest)]));
}

/** Compare-and-set of a DAG's watermark (insert when it has none and `from` is 0). */
export async function casWatermark(db: Db, dagId: string, from: number, to: number, at: string): Promise<boolean> {
  const existing = await db.selectFrom("dataset_triggers").select("consumed_id").where("dag_id", "=", dagId).executeTakeFirst();
  if (!existing) {
    if (from !== 0) return false;
    await db.insertInto("dataset_triggers").values({ dag_id: dagId, consumed_id: to, updated_at: at }).execute();
    return true;
  }
  if (Number(existing.consumed_id) !== from) return false;
  await db.updateTable("dataset_triggers").set({ consumed_id: to, updated_at: at }).where("dag_id", "=", dagId).execute();
  return true;
}
