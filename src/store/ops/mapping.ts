/**
 * Dynamic task mapping in the store. A task instance is keyed by (run, task, map index); an unmapped task has one
 * instance with map index -1. A mapped task starts the same way and, once its upstream list is known, the
 * scheduler replaces that instance by one per element (0..n-1), each with its own state, tries, XCom and log.
 */
import os from "node:os";
import { sql, type RawBuilder, type SqlBool } from "kysely";
import type { Db } from "../kysely-store.js";
import type { Migration } from "../migrations.js";
import type { InstanceRef } from "../store.js";
import type { ChangeEvent, TaskState } from "../types.js";
import type { ProtocolError } from "../../runner/protocol.js";

type Change = (db: Db, c: Omit<ChangeEvent, "id" | "at">) => Promise<void>;

/** SQLite cannot change a primary key in place: each table is rebuilt with `map_index` in its key. */
function sqliteRebuild(table: string, columns: string, key: string, copy: string, indexes: string[]): string[] {
  return [
    `create table ${table}_mapped (${columns}, map_index integer not null default -1, primary key (${key}))`,
    `insert into ${table}_mapped (${copy}, map_index) select ${copy}, -1 from ${table}`,
    `drop table ${table}`,
    `alter table ${table}_mapped rename to ${table}`,
    ...indexes,
  ];
}

/** Migrations of task mapping (ids 50-59, and 80-89). */
export const MAPPING_MIGRATIONS: Migration[] = [
  {
    id: 50,
    name: "task mapping",
    breaking: false,
    sql: (d) => d === "postgres"
      ? [
        ...["task_instances", "task_tries", "xcoms", "log_chunks"].map((t) => `alter table ${t} add column map_index integer not null default -1`),
        "alter table task_instances drop constraint task_instances_pkey",
        "alter table task_instances add primary key (run_id, task_id, map_index)",
        "alter table task_tries drop constraint task_tries_pkey",
        "alter table task_tries add primary key (run_id, task_id, map_index, try_number)",
        "alter table xcoms drop constraint xcoms_pkey",
        "alter table xcoms add primary key (run_id, task_id, map_index, try_number)",
        "alter table log_chunks drop constraint log_chunks_pkey",
        "alter table log_chunks add primary key (run_id, task_id, map_index, try_number, byte_offset)",
        "alter table task_instances add column max_active_tis integer",
      ]
      : [
        ...sqliteRebuild("task_instances",
          `run_id text not null, task_id text not null, dag_id text not null, state text not null, try_number integer not null default 0,
           max_tries integer not null default 1, pool text not null, queue text not null, isolation text, not_before text,
           start_date text, end_date text, updated_at text not null, priority_weight integer not null default 1, first_poke text`,
          "run_id, task_id, map_index",
          "run_id, task_id, dag_id, state, try_number, max_tries, pool, queue, isolation, not_before, start_date, end_date, updated_at, priority_weight, first_poke",
          ["create index task_instances_state on task_instances (state, queue)", "create index task_instances_dag_state on task_instances (dag_id, state)"]),
        ...sqliteRebuild("task_tries",
          `run_id text not null, task_id text not null, try_number integer not null, dag_id text not null, state text not null,
           isolation text not null, worker_id text not null, hostname text not null, handle text, log_path text not null,
           started_at text not null, ended_at text, exit_code integer, error text, epoch integer not null default 0`,
          "run_id, task_id, map_index, try_number",
          "run_id, task_id, try_number, dag_id, state, isolation, worker_id, hostname, handle, log_path, started_at, ended_at, exit_code, error, epoch",
          ["create index task_tries_running on task_tries (state, hostname)", "create index task_tries_worker on task_tries (state, worker_id)"]),
        ...sqliteRebuild("xcoms",
          "run_id text not null, task_id text not null, try_number integer not null, value text not null, size integer not null, created_at text not null",
          "run_id, task_id, map_index, try_number", "run_id, task_id, try_number, value, size, created_at", []),
        ...sqliteRebuild("log_chunks",
          "run_id text not null, task_id text not null, try_number integer not null, byte_offset integer not null, byte_length integer not null, text text not null",
          "run_id, task_id, map_index, try_number, byte_offset", "run_id, task_id, try_number, byte_offset, byte_length, text", []),
        "alter table task_instances add column max_active_tis integer",
      ],
  },
  {
    // The scheduler's count of a run's mapped instances by task, state and queue (ops/run-view.ts) reads only this
    // index rather than every row of a 10,000-instance run.
    id: 80,
    name: "mapped instances by run and state",
    breaking: false,
    sql: () => ["create index task_instances_mapped_view on task_instances (run_id, task_id, state, queue, end_date, try_number, map_index) where map_index >= 0"],
  },
];

/** Replaces the unexpanded instance by `count` mapped ones (or skips it when count is 0). */
export async function expandTask(db: Db, runId: string, taskId: string, count: number, from: TaskState[], change: Change): Promise<boolean> {
  const base = await db.selectFrom("task_instances").selectAll().where("run_id", "=", runId).where("task_id", "=", taskId)
    .where("map_index", "=", -1).where("state", "in", from).executeTakeFirst();
  if (!base) return false;
  const at = new Date().toISOString();
  if (count === 0) {
    await db.updateTable("task_instances").set({ state: "skipped", start_date: at, end_date: at, updated_at: at })
      .where("run_id", "=", runId).where("task_id", "=", taskId).where("map_index", "=", -1).execute();
    await change(db, { kind: "task", dagId: base.dag_id, runId, taskId, tryNumber: null, state: "skipped" });
    return true;
  }
  await db.deleteFrom("task_instances").where("run_id", "=", runId).where("task_id", "=", taskId).where("map_index", "=", -1).execute();
  const rows = Array.from({ length: count }, (_, i) => ({
    run_id: runId, task_id: taskId, map_index: i, dag_id: base.dag_id, state: "none", try_number: base.try_number,
    max_tries: base.max_tries, pool: base.pool, queue: base.queue, isolation: null, not_before: null, start_date: null,
    end_date: null, updated_at: at, priority_weight: base.priority_weight ?? 1, max_active_tis: base.max_active_tis ?? null,
  }));
  // Chunked: SQLite limits bound parameters per statement.
  for (let i = 0; i < rows.length; i += 500) await db.insertInto("task_instances").values(rows.slice(i, i + 500)).execute();
  await change(db, { kind: "task", dagId: base.dag_id, runId, taskId, tryNumber: null, state: "none" });
  return true;
}

/** Fails an instance without running it, leaving a failed try whose error and log say why. */
export async function failUnrunnable(db: Db, runId: string, ref: InstanceRef, from: TaskState[], error: ProtocolError, change: Change): Promise<boolean> {
  const mapIndex = ref.mapIndex ?? -1;
  const ti = await db.selectFrom("task_instances").selectAll().where("run_id", "=", runId).where("task_id", "=", ref.taskId)
    .where("map_index", "=", mapIndex).where("state", "in", from).executeTakeFirst();
  if (!ti) return false;
  const at = new Date().toISOString();
  const tryNumber = Number(ti.try_number) + 1;
  await db.updateTable("task_instances").set({ state: "failed", try_number: tryNumber, start_date: at, end_date: at, updated_at: at })
    .where("run_id", "=", runId).where("task_id", "=", ref.taskId).where("map_index", "=", mapIndex).execute();
  await db.insertInto("task_tries").values({
    run_id: runId, task_id: ref.taskId, map_index: mapIndex, try_number: tryNumber, dag_id: ti.dag_id, state: "failed",
    isolation: ti.isolation ?? "process", worker_id: "scheduler", hostname: os.hostname(), handle: null, log_path: "",
    started_at: at, ended_at: at, exit_code: null, error: JSON.stringify(error),
  }).execute();
  const text = `[airlock] ${error.type}: ${error.message}\n`;
  await db.insertInto("log_chunks").values({ run_id: runId, task_id: ref.taskId, map_index: mapIndex, try_number: tryNumber, byte_offset: 0, byte_length: Buffer.byteLength(text), text }).execute();
  await change(db, { kind: "task", dagId: ti.dag_id, runId, taskId: ref.taskId, tryNumber, state: "failed" });
  return true;
}

/** Undoes an expansion so the task is expanded again from its upstream's new list. */
export async function collapseTask(db: Db, runId: string, taskId: string, change: Change): Promise<void> {
  const first = await db.selectFrom("task_instances").selectAll().where("run_id", "=", runId).where("task_id", "=", taskId)
    .orderBy("map_index").limit(1).executeTakeFirst();
  if (!first || Number(first.map_index) < 0) return;
  const at = new Date().toISOString();
  for (const table of ["task_tries", "xcoms", "log_chunks", "task_instances"] as const) {
    await db.deleteFrom(table).where("run_id", "=", runId).where("task_id", "=", taskId).execute();
  }
  await db.insertInto("task_instances").values({
    run_id: runId, task_id: taskId, map_index: -1, dag_id: first.dag_id, state: "none", try_number: 0, max_tries: first.max_tries,
    pool: first.pool, queue: first.queue, isolation: null, not_before: null, start_date: null, end_date: null, updated_at: at,
    priority_weight: first.priority_weight ?? 1, max_active_tis: first.max_active_tis ?? null,
  }).execute();
  await change(db, { kind: "task", dagId: first.dag_id, runId, taskId, tryNumber: null, state: "none" });
}

/** Latest XCom per task; a mapped task's is the list of its instances' XComs in map-index order. */
export async function selectXcoms(db: Db, runId: string, taskIds: string[]): Promise<Map<string, string>> {
  const single = new Map<string, string>();
  const mapped = new Map<string, Map<number, string>>();
  for (let i = 0; i < taskIds.length; i += 500) {
    const rows = await db.selectFrom("xcoms").select(["task_id", "map_index", "try_number", "value"]).where("run_id", "=", runId)
      .where("task_id", "in", taskIds.slice(i, i + 500)).orderBy("try_number", "asc").execute();
    for (const r of rows) {
      const mapIndex = Number(r.map_index);
      if (mapIndex < 0) single.set(r.task_id, r.value);
      else {
        const byIndex = mapped.get(r.task_id) ?? new Map<number, string>();
        byIndex.set(mapIndex, r.value);
        mapped.set(r.task_id, byIndex);
      }
    }
  }
  for (const [taskId, byIndex] of mapped) {
    // The values are JSON already: join them rather than parse and serialise each again.
    single.set(taskId, `[${[...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v).join(",")}]`);
  }
  return single;
}

/** An instance's key in maps: the task id, and its map index for a mapped instance. */
export const instanceKey = (taskId: string, mapIndex = -1): string => (mapIndex >= 0 ? `${taskId}[${mapIndex}]` : taskId);

/** Instances one statement touches: unmapped ones by task id, or mapped ones of one task by map index. */
export type InstanceChunk = { taskIds: string[] } | { taskId: string; mapIndexes: number[] };

/** Splits instances into chunks of at most `size` that one `instanceCondition` each selects. */
export function instanceChunks(refs: InstanceRef[], size: number): InstanceChunk[] {
  const unmapped: string[] = [];
  const mapped = new Map<string, number[]>();
  for (const r of refs) {
    const mapIndex = r.mapIndex ?? -1;
    if (mapIndex < 0) unmapped.push(r.taskId);
    else {
      const list = mapped.get(r.taskId);
      if (list) list.push(mapIndex);
      else mapped.set(r.taskId, [mapIndex]);
    }
  }
  const out: InstanceChunk[] = [];
  for (let i = 0; i < unmapped.length; i += size) out.push({ taskIds: unmapped.slice(i, i + size) });
  for (const [taskId, indexes] of mapped) for (let i = 0; i < indexes.length; i += size) out.push({ taskId, mapIndexes: indexes.slice(i, i + size) });
  return out;
}

/** The WHERE condition selecting a chunk's instances (within one run, which the caller adds). */
export function instanceCondition(chunk: InstanceChunk): RawBuilder<SqlBool> {
  return "taskIds" in chunk
    ? sql<SqlBool>`map_index = -1 and task_id in (${sql.join(chunk.taskIds)})`
    : sql<SqlBool>`task_id = ${chunk.taskId} and map_index in (${sql.join(chunk.mapIndexes)})`;
}
