/**
 * The Store implemented once over Kysely; the SQLite and Postgres adapters supply only a connection and an
 * exclusive-transaction primitive. Nothing dialect-specific leaks out of this file and the two adapters.
 */
import { sql, type Kysely, type RawBuilder, type Selectable, type Transaction, type Updateable } from "kysely";
import type { SerializedDag } from "../sdk/serialized.js";
import type { TryHandle } from "../backends/types.js";
import type { BackendName } from "../sdk/types.js";
import type { ProtocolError } from "../runner/protocol.js";
import { MIGRATIONS } from "./migrations.js";
import { checkLease, takeLease } from "./ops/fence.js";
import * as fleet from "./ops/fleet.js";
import * as routes from "./ops/routes.js";
import * as audit from "./ops/audit.js";
import type { AuditEvent, ListAuditQuery, NewAuditEvent, RunInstancesView } from "./types.js";
import { casWatermark, insertDatasetVersion, selectDatasets, selectLatestIds, toDatasetVersion } from "./dataset-ops.js";
import { claimFairly } from "./ops/claim.js";
import { insertChanges } from "./ops/changes.js";
import { finishTries } from "./ops/finish.js";
import { applyTransitions, type TransitionItem } from "./ops/transitions.js";
import { deletePoolRow, poolUsage } from "./ops/pools.js";
import { firstPokeOf, rescheduleTry } from "./ops/reschedule.js";
import * as mapping from "./ops/mapping.js";
import { hasUnfinishedTasks, runInstancesView } from "./ops/run-view.js";
import * as triggers from "./ops/triggers.js";
import { appendLogChunk, readLogChunks, resetLogChunks, type ShippedLogSlice, type ShippedTimeMark } from "./ops/log-chunks.js";
import type { Database, DagRunsTable, TaskInstancesTable, TaskTriesTable } from "./schema.js";
import { listReusedTries, type ReusedTry } from "./ops/reused.js";
import type {
  ClaimRequest, ClaimedTry, InstanceRef, LeaseFence, ListDagsQuery, ListRunsQuery, NewRun, NewWorker, Store, TaskPatch, TryFence,
  TryFinish, TryKeyRef, TryOutcome,
} from "./store.js";
import type {
  ChangeEvent, ConnectionRow, DagRecord, DagRun, DagVersion, ImportError, Pool, PoolUsage, Route, RunState, RunType, TaskInstance,
  TaskState, TaskTry, TryState, VariableRow, DatasetSummary, DatasetVersion, WorkerRecord, WorkerState,
} from "./types.js";

/** DAG versions kept parsed per store handle. */
const VERSION_CACHE = 64;

/** Database handle usable inside and outside transactions. */
export type Db = Kysely<Database> | Transaction<Database>;

/** What a dialect adapter provides. */
export interface DialectAdapter {
  readonly dialect: "sqlite" | "postgres";
  readonly db: Kysely<Database>;
  /** Runs `fn` in a transaction that excludes every other writer (across processes). */
  exclusive<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /**
   * Runs a single-statement liveness write (heartbeats) that must not queue behind other writers: on Postgres on a
   * connection of its own, outside the write lock; on SQLite like any other write.
   */
  liveness<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** Runs migration DDL; the adapter serialises concurrent migrators. */
  runMigrations(apply: (db: Db) => Promise<void>): Promise<void>;
  /** Calls `onSignal` soon after any process commits change-feed rows; resolves to an unsubscribe. */
  watchChanges(onSignal: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const now = () => new Date().toISOString();
const MAX_PAGE = 1000;
const clampLimit = (limit: number | undefined, fallback: number) => Math.max(1, Math.min(MAX_PAGE, Math.floor(limit ?? fallback)));
const clampOffset = (offset: number | undefined) => Math.max(0, Math.floor(offset ?? 0));

function toRun(r: Selectable<DagRunsTable>): DagRun {
  return {
    runId: r.run_id, dagId: r.dag_id, runType: r.run_type as RunType, state: r.state as RunState,
    logicalDate: r.logical_date, dataIntervalStart: r.data_interval_start, dataIntervalEnd: r.data_interval_end,
    conf: JSON.parse(r.conf) as Record<string, unknown>, params: JSON.parse(r.params) as Record<string, unknown>,
    versionHash: r.version_hash, createdAt: r.created_at, startDate: r.start_date, endDate: r.end_date,
  };
}

function toTi(r: Selectable<TaskInstancesTable>): TaskInstance {
  return {
    dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, mapIndex: Number(r.map_index ?? -1), state: r.state as TaskState, tryNumber: Number(r.try_number),
    maxTries: Number(r.max_tries), pool: r.pool, queue: r.queue, isolation: r.isolation as BackendName | null,
    notBefore: r.not_before, startDate: r.start_date, endDate: r.end_date, updatedAt: r.updated_at,
  };
}

function toTry(r: Selectable<TaskTriesTable>): TaskTry {
  return {
    dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, mapIndex: Number(r.map_index ?? -1), tryNumber: Number(r.try_number), state: r.state as TryState,
    isolation: r.isolation as BackendName, workerId: r.worker_id, hostname: r.hostname,
    handle: r.handle ? (JSON.parse(r.handle) as TryHandle) : null, logPath: r.log_path, startedAt: r.started_at,
    endedAt: r.ended_at, exitCode: r.exit_code === null ? null : Number(r.exit_code),
    error: r.error ? (JSON.parse(r.error) as ProtocolError) : null, epoch: Number(r.epoch),
    reused: Number(r.reused) === 1,
  };
}

/**
 * The Store over a dialect adapter. Every write runs in `adapter.exclusive`, even single statements: on SQLite a
 * plain write would wait for the lock inside the synchronous driver (freezing the process, and deadlocking a
 * second handle of it), and on Postgres the change feed's ids stay in commit order only while writers serialise.
 */
export class KyselyStore implements Store {
  readonly dialect: "sqlite" | "postgres";
  private readonly db: Kysely<Database>;

  constructor(private readonly adapter: DialectAdapter) {
    this.dialect = adapter.dialect;
    this.db = adapter.db;
  }

  async migrate(): Promise<void> {
    await this.adapter.runMigrations(async (db) => {
      await sql`create table if not exists airlock_migrations (id integer primary key, name text not null, applied_at text not null)`.execute(db);
      const applied = new Set((await db.selectFrom("airlock_migrations").select("id").execute()).map((r) => Number(r.id)));
      // Ids come in blocks per line of work, so the list is not sorted by id: compare with the largest.
      const latestKnown = Math.max(0, ...MIGRATIONS.map((m) => m.id));
      const newest = Math.max(0, ...applied);
      if (newest > latestKnown) {
        throw new Error(`The store was migrated by a newer Airlock (migration ${newest}; this version knows up to ${latestKnown}). Upgrade Airlock on this machine.`);
      }
      for (const m of MIGRATIONS) {
        if (applied.has(m.id)) continue;
        for (const statement of m.sql(this.dialect)) await sql.raw(statement).execute(db);
        await db.insertInto("airlock_migrations").values({ id: m.id, name: m.name, applied_at: now() }).execute();
      }
    });
  }

  close(): Promise<void> {
    return this.adapter.close();
  }

  watchChanges(onSignal: () => void): Promise<() => Promise<void>> {
    return this.adapter.watchChanges(onSignal);
  }

  private async change(db: Db, c: Omit<ChangeEvent, "id" | "at">): Promise<void> {
    await insertChanges(db, [c], now());
  }

  /**
   * `needle` occurs in `haystack` as a plain substring. Not LIKE: SQLite's LIKE has no default escape character
   * and ignores ASCII case while Postgres's does neither, so `%`, `_` and case would match differently per store.
   */
  private contains(haystack: RawBuilder<unknown>, needle: RawBuilder<unknown>): RawBuilder<boolean> {
    return this.dialect === "sqlite" ? sql<boolean>`instr(${haystack}, ${needle}) > 0` : sql<boolean>`strpos(${haystack}, ${needle}) > 0`;
  }

  // ---- DAGs

  async upsertDag(input: { fileloc: string; serialized: SerializedDag; versionHash: string; bundlePath: string; pausedByDefault?: boolean }): Promise<void> {
    const s = input.serialized;
    await this.adapter.exclusive(async (db) => {
      const version = await db.selectFrom("dag_versions").select("hash").where("hash", "=", input.versionHash).executeTakeFirst();
      if (!version) {
        await db.insertInto("dag_versions").values({ hash: input.versionHash, dag_id: s.id, serialized: JSON.stringify(s), bundle_path: input.bundlePath, created_at: now() }).execute();
      }
      const existing = await db.selectFrom("dags").select(["version_hash", "is_active", "fileloc"]).where("dag_id", "=", s.id).executeTakeFirst();
      if (!existing) {
        await db.insertInto("dags").values({
          dag_id: s.id, fileloc: input.fileloc, is_paused: (s.pausedOnCreation ?? input.pausedByDefault ?? false) ? 1 : 0, is_active: 1,
          version_hash: input.versionHash, last_parsed_at: now(), next_logical_date: null, tags: JSON.stringify(s.tags),
        }).execute();
        await this.change(db, { kind: "dag", dagId: s.id, runId: null, taskId: null, tryNumber: null, state: "added" });
        return;
      }
      await db.updateTable("dags").set({ fileloc: input.fileloc, is_active: 1, version_hash: input.versionHash, last_parsed_at: now(), tags: JSON.stringify(s.tags) }).where("dag_id", "=", s.id).execute();
      if (existing.version_hash !== input.versionHash || Number(existing.is_active) !== 1) {
        await this.change(db, { kind: "dag", dagId: s.id, runId: null, taskId: null, tryNumber: null, state: "updated" });
      }
    });
  }

  async deactivateMissingDags(fileloc: string, dagIds: string[]): Promise<void> {
    await this.adapter.exclusive(async (db) => {
      let q = db.updateTable("dags").set({ is_active: 0 }).where("fileloc", "=", fileloc).where("is_active", "=", 1);
      if (dagIds.length > 0) q = q.where("dag_id", "not in", dagIds);
      await q.execute();
    });
  }

  async deactivateMissingFiles(filelocs: string[]): Promise<void> {
    await this.adapter.exclusive(async (db) => {
      let q = db.updateTable("dags").set({ is_active: 0 }).where("is_active", "=", 1);
      if (filelocs.length > 0) q = q.where("fileloc", "not in", filelocs);
      await q.execute();
      let e = db.deleteFrom("import_errors");
      if (filelocs.length > 0) e = e.where("fileloc", "not in", filelocs);
      await e.execute();
    });
  }

  /**
   * DAG versions by hash, most recently used last. A version never changes once written (its hash is its content),
   * so the scheduler and every try read it from here instead of reading and parsing the whole DAG again.
   * Callers must not modify what they get.
   */
  private readonly versions = new Map<string, DagVersion>();

  private rememberVersion(v: Selectable<Database["dag_versions"]>): DagVersion {
    const version: DagVersion = { hash: v.hash, dagId: v.dag_id, serialized: JSON.parse(v.serialized) as SerializedDag, bundlePath: v.bundle_path, createdAt: v.created_at };
    this.versions.set(v.hash, version);
    if (this.versions.size > VERSION_CACHE) this.versions.delete(this.versions.keys().next().value as string);
    return version;
  }

  private cachedVersion(hash: string): DagVersion | undefined {
    const v = this.versions.get(hash);
    if (v) {
      this.versions.delete(hash);
      this.versions.set(hash, v);
    }
    return v;
  }

  private async dagRecords(rows: Array<Selectable<Database["dags"]>>): Promise<DagRecord[]> {
    if (rows.length === 0) return [];
    const byHash = new Map<string, DagVersion>();
    for (const r of rows) {
      const v = this.cachedVersion(r.version_hash);
      if (v) byHash.set(v.hash, v);
    }
    const missing = [...new Set(rows.map((r) => r.version_hash).filter((h) => !byHash.has(h)))];
    if (missing.length > 0) {
      for (const v of await this.db.selectFrom("dag_versions").selectAll().where("hash", "in", missing).execute()) byHash.set(v.hash, this.rememberVersion(v));
    }
    return rows.flatMap((r) => {
      const v = byHash.get(r.version_hash);
      if (!v) return [];
      return [{
        dagId: r.dag_id, fileloc: r.fileloc, isPaused: Number(r.is_paused) === 1, isActive: Number(r.is_active) === 1,
        versionHash: r.version_hash, serialized: v.serialized, bundlePath: v.bundlePath,
        lastParsedAt: r.last_parsed_at, nextLogicalDate: r.next_logical_date,
        pausedReason: Number(r.is_paused) === 1 ? r.paused_reason ?? null : null,
      }];
    });
  }

  async getDag(dagId: string): Promise<DagRecord | undefined> {
    const row = await this.db.selectFrom("dags").selectAll().where("dag_id", "=", dagId).executeTakeFirst();
    return row ? (await this.dagRecords([row]))[0] : undefined;
  }

  async listDags(query: ListDagsQuery = {}): Promise<{ dags: DagRecord[]; total: number }> {
    let q = this.db.selectFrom("dags");
    if (!query.includeInactive) q = q.where("is_active", "=", 1);
    if (query.paused !== undefined) q = q.where("is_paused", "=", query.paused ? 1 : 0);
    if (query.search) q = q.where(this.contains(sql`lower(${sql.ref("dag_id")})`, sql`lower(${query.search})`));
    if (query.tags && query.tags.length > 0) {
      // Tags are stored as a JSON array, so a quoted tag matches that tag whole (not a prefix of another).
      const tags = query.tags;
      q = q.where((eb) => eb.or(tags.map((t) => this.contains(sql.ref("tags"), sql`${JSON.stringify(t)}`))));
    }
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst())?.n ?? 0);
    const rows = await q.selectAll().orderBy("dag_id").limit(clampLimit(query.limit, 100)).offset(clampOffset(query.offset)).execute();
    return { dags: await this.dagRecords(rows), total };
  }

  async setPaused(dagId: string, paused: boolean, reason: string | null = null): Promise<boolean> {
    return this.adapter.exclusive(async (db) => {
      const r = await db.updateTable("dags").set({ is_paused: paused ? 1 : 0, paused_reason: paused ? reason : null }).where("dag_id", "=", dagId).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await this.change(db, { kind: "dag", dagId, runId: null, taskId: null, tryNumber: null, state: paused ? "paused" : "unpaused" });
      return true;
    });
  }

  async deleteDag(dagId: string): Promise<{ runs: number } | null> {
    return this.adapter.exclusive(async (db) => {
      const exists = await db.selectFrom("dags").select("dag_id").where("dag_id", "=", dagId).executeTakeFirst();
      if (!exists) return null;
      const runs = Number((await db.deleteFrom("dag_runs").where("dag_id", "=", dagId).executeTakeFirst()).numDeletedRows);
      await db.deleteFrom("xcoms").where("run_id", "in", db.selectFrom("task_instances").select("run_id").where("dag_id", "=", dagId)).execute();
      await db.deleteFrom("task_tries").where("dag_id", "=", dagId).execute();
      await db.deleteFrom("log_chunks").where("run_id", "in", db.selectFrom("task_instances").select("run_id").where("dag_id", "=", dagId)).execute();
      await db.deleteFrom("sla_misses").where("dag_id", "=", dagId).execute();
      await db.deleteFrom("triggers").where("dag_id", "=", dagId).execute();
      await db.deleteFrom("task_instances").where("dag_id", "=", dagId).execute();
      await db.deleteFrom("dag_versions").where("dag_id", "=", dagId).execute();
      for (const [hash, v] of this.versions) if (v.dagId === dagId) this.versions.delete(hash);
      await db.deleteFrom("dags").where("dag_id", "=", dagId).execute();
      await this.change(db, { kind: "dag", dagId, runId: null, taskId: null, tryNumber: null, state: "deleted" });
      return { runs };
    });
  }

  async setNextLogicalDate(dagId: string, next: string | null): Promise<void> {
    await this.adapter.exclusive((db) => db.updateTable("dags").set({ next_logical_date: next }).where("dag_id", "=", dagId).execute());
  }

  async getDagVersion(hash: string): Promise<DagVersion | undefined> {
    const cached = this.cachedVersion(hash);
    if (cached) return cached;
    const v = await this.db.selectFrom("dag_versions").selectAll().where("hash", "=", hash).executeTakeFirst();
    return v ? this.rememberVersion(v) : undefined;
  }

  async setImportError(fileloc: string, message: string): Promise<void> {
    await this.adapter.exclusive(async (db) => {
      const existing = await db.selectFrom("import_errors").select("message").where("fileloc", "=", fileloc).executeTakeFirst();
      if (existing?.message === message) return;
      if (existing) await db.updateTable("import_errors").set({ message, updated_at: now() }).where("fileloc", "=", fileloc).execute();
      else await db.insertInto("import_errors").values({ fileloc, message, updated_at: now() }).execute();
      await this.change(db, { kind: "import_error", dagId: null, runId: null, taskId: null, tryNumber: null, state: "error" });
    });
  }

  async clearImportError(fileloc: string): Promise<void> {
    await this.adapter.exclusive(async (db) => {
      const r = await db.deleteFrom("import_errors").where("fileloc", "=", fileloc).executeTakeFirst();
      if (Number(r.numDeletedRows) > 0) await this.change(db, { kind: "import_error", dagId: null, runId: null, taskId: null, tryNumber: null, state: "cleared" });
    });
  }

  async listImportErrors(): Promise<ImportError[]> {
    const rows = await this.db.selectFrom("import_errors").selectAll().orderBy("fileloc").execute();
    return rows.map((r) => ({ fileloc: r.fileloc, message: r.message, updatedAt: r.updated_at }));
  }

  // ---- Runs

  async createRun(run: NewRun, fence?: LeaseFence): Promise<boolean> {
    return this.adapter.exclusive(async (db) => {
      await checkLease(db, fence);
      const exists = await db.selectFrom("dag_runs").select("run_id").where("run_id", "=", run.runId).executeTakeFirst();
      if (exists) return false;
      const at = now();
      await db.insertInto("dag_runs").values({
        run_id: run.runId, dag_id: run.dagId, run_type: run.runType, state: "queued", logical_date: run.logicalDate,
        data_interval_start: run.dataIntervalStart, data_interval_end: run.dataIntervalEnd, conf: JSON.stringify(run.conf),
        params: JSON.stringify(run.params), version_hash: run.versionHash, created_at: at, start_date: null, end_date: null,
        max_active_tasks: run.maxActiveTasks ?? null,
      }).execute();
      const rows = run.tasks.map((t) => ({
        run_id: run.runId, task_id: t.taskId, dag_id: run.dagId, state: "none", try_number: 0, max_tries: t.maxTries,
        pool: t.pool, queue: t.queue, isolation: null, not_before: null, start_date: null, end_date: null, updated_at: at,
        priority_weight: t.priorityWeight ?? 1, max_active_tis: t.maxActiveTis ?? null,
      }));
      // Chunked: SQLite limits bound parameters per statement.
      for (let i = 0; i < rows.length; i += 500) await db.insertInto("task_instances").values(rows.slice(i, i + 500)).execute();
      await this.change(db, { kind: "run", dagId: run.dagId, runId: run.runId, taskId: null, tryNumber: null, state: "queued" });
      return true;
    });
  }

  async getRun(runId: string): Promise<DagRun | undefined> {
    const r = await this.db.selectFrom("dag_runs").selectAll().where("run_id", "=", runId).executeTakeFirst();
    return r ? toRun(r) : undefined;
  }

  async listRuns(query: ListRunsQuery = {}): Promise<{ runs: DagRun[]; total: number }> {
    let q = this.db.selectFrom("dag_runs");
    if (query.dagId) q = q.where("dag_id", "=", query.dagId);
    if (query.states && query.states.length > 0) q = q.where("state", "in", query.states);
    if (query.runType) q = q.where("run_type", "=", query.runType);
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst())?.n ?? 0);
    const dir = query.order === "asc" ? "asc" : "desc";
    const rows = await q.selectAll().orderBy("logical_date", dir).orderBy("created_at", dir).limit(clampLimit(query.limit, 100)).offset(clampOffset(query.offset)).execute();
    return { runs: rows.map(toRun), total };
  }

  async latestScheduledRun(dagId: string): Promise<DagRun | undefined> {
    const r = await this.db.selectFrom("dag_runs").selectAll().where("dag_id", "=", dagId).where("run_type", "in", ["scheduled", "backfill"])
      .orderBy("logical_date", "desc").limit(1).executeTakeFirst();
    return r ? toRun(r) : undefined;
  }

  async countActiveRuns(dagId: string): Promise<number> {
    const r = await this.db.selectFrom("dag_runs").select((eb) => eb.fn.countAll<number>().as("n")).where("dag_id", "=", dagId).where("state", "=", "running").executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async setRunState(runId: string, state: RunState, from?: RunState[], fence?: LeaseFence): Promise<boolean> {
    return this.adapter.exclusive(async (db) => {
      await checkLease(db, fence);
      const at = now();
      let q = db.updateTable("dag_runs").set((eb) => ({
        state,
        start_date: state === "running" ? eb.fn.coalesce("start_date", sql.val(at)) : eb.ref("start_date"),
        end_date: state === "success" || state === "failed" ? at : null,
      })).where("run_id", "=", runId);
      if (from && from.length > 0) q = q.where("state", "in", from);
      const r = await q.executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      const run = await db.selectFrom("dag_runs").select("dag_id").where("run_id", "=", runId).executeTakeFirst();
      await this.change(db, { kind: "run", dagId: run?.dag_id ?? null, runId, taskId: null, tryNumber: null, state });
      return true;
    });
  }

  // ---- Task instances

  async listTaskInstances(runId: string): Promise<TaskInstance[]> {
    return (await this.db.selectFrom("task_instances").selectAll().where("run_id", "=", runId).execute()).map(toTi);
  }

  runInstancesView(runId: string, taskIds?: readonly string[]): Promise<RunInstancesView> {
    return runInstancesView(this.db, runId, toTi as (r: never) => TaskInstance, taskIds);
  }

  hasUnfinishedTasks(runId: string): Promise<boolean> {
    return hasUnfinishedTasks(this.db, runId);
  }

  async listTaskInstancesByState(states: TaskState[], limit = 10_000): Promise<TaskInstance[]> {
    if (states.length === 0) return [];
    return (await this.db.selectFrom("task_instances").selectAll().where("state", "in", states).limit(limit).execute()).map(toTi);
  }

  async getTaskInstance(runId: string, taskId: string, mapIndex = -1): Promise<TaskInstance | undefined> {
    const r = await this.db.selectFrom("task_instances").selectAll().where("run_id", "=", runId).where("task_id", "=", taskId).where("map_index", "=", mapIndex).executeTakeFirst();
    return r ? toTi(r) : undefined;
  }

  async transitionTask(runId: string, taskId: string, from: TaskState[], patch: TaskPatch, mapIndex = -1): Promise<boolean> {
    const applied = await this.adapter.exclusive((db) => applyTransitions(db, runId, [{ taskId, mapIndex, from, patch }], now()));
    return applied.length > 0;
  }

  async transitionTasks(runId: string, items: TransitionItem[], fence?: LeaseFence): Promise<string[]> {
    const applied: string[] = [];
    // A few statements per thousand items; the write lock is let go between thousands so that claims interleave.
    for (let i = 0; i < items.length; i += 1000) {
      applied.push(...await this.adapter.exclusive(async (db) => {
        await checkLease(db, fence);
        return applyTransitions(db, runId, items.slice(i, i + 1000), now());
      }));
    }
    return applied;
  }

  expandTask(runId: string, taskId: string, count: number, from: TaskState[], fence?: LeaseFence): Promise<boolean> {
    return this.adapter.exclusive(async (db) => {
      await checkLease(db, fence);
      return mapping.expandTask(db, runId, taskId, count, from, (d, c) => this.change(d, c));
    });
  }

  failUnrunnable(runId: string, ref: InstanceRef, from: TaskState[], error: ProtocolError, fence?: LeaseFence): Promise<boolean> {
    return this.adapter.exclusive(async (db) => {
      await checkLease(db, fence);
      return mapping.failUnrunnable(db, runId, ref, from, error, (d, c) => this.change(d, c));
    });
  }

  collapseTask(runId: string, taskId: string): Promise<void> {
    return this.adapter.exclusive((db) => mapping.collapseTask(db, runId, taskId, (d, c) => this.change(d, c)));
  }

  async claimQueued(request: ClaimRequest): Promise<ClaimedTry[]> {
    if (request.limit <= 0 || request.queues.length === 0) return [];
    // Most wake-ups find nothing queued (a try's end wakes the worker several ways): a read of the state index
    // answers that without taking the write lock. A task queued just after this read wakes the worker again.
    const any = await this.db.selectFrom("task_instances").select("task_id").where("state", "=", "queued").where("queue", "in", request.queues).limit(1).executeTakeFirst();
    if (!any) return [];
    return this.adapter.exclusive((db) => claimFairly(db, this.dialect, request, (d, c) => insertChanges(d, c, now())));
  }

  async finishTry(key: TryKeyRef, outcome: TryOutcome, fence?: TryFence): Promise<boolean> {
    return (await this.finishTries([{ key, outcome, fence }]))[0] ?? false;
  }

  async finishTries(items: TryFinish[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    return this.adapter.exclusive((db) => finishTries(db, items, now()));
  }

  async setTryHandle(key: TryKeyRef, handle: TryHandle, fence?: TryFence): Promise<boolean> {
    const r = await this.adapter.exclusive((db) => {
      let q = db.updateTable("task_tries").set({ handle: JSON.stringify(handle), reused: handle.reused === true ? 1 : 0 })
        .where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).where("try_number", "=", key.tryNumber);
      if (fence) q = q.where("state", "=", "running").where("worker_id", "=", fence.workerId).where("epoch", "=", fence.epoch);
      return q.executeTakeFirst();
    });
    return Number(r.numUpdatedRows) > 0;
  }

  async getTry(key: TryKeyRef): Promise<TaskTry | undefined> {
    const r = await this.db.selectFrom("task_tries").selectAll().where("run_id", "=", key.runId).where("task_id", "=", key.taskId).where("map_index", "=", key.mapIndex ?? -1).where("try_number", "=", key.tryNumber).executeTakeFirst();
    return r ? toTry(r) : undefined;
  }

  async listTries(runId: string, taskId: string, mapIndex = -1): Promise<TaskTry[]> {
    return (await this.db.selectFrom("task_tries").selectAll().where("run_id", "=", runId).where("task_id", "=", taskId).where("map_index", "=", mapIndex).orderBy("try_number").execute()).map(toTry);
  }

  async listReusedTries(runId: string): Promise<ReusedTry[]> {
    return listReusedTries(this.db, runId);
  }

  async listRunningTries(hostname?: string): Promise<TaskTry[]> {
    let q = this.db.selectFrom("task_tries").selectAll().where("state", "=", "running");
    if (hostname !== undefined) q = q.where("hostname", "=", hostname);
    return (await q.execute()).map(toTry);
  }

  async getXcom(runId: string, taskId: string): Promise<string | undefined> {
    return (await this.getXcoms(runId, [taskId])).get(taskId);
  }

  getXcoms(runId: string, taskIds: string[]): Promise<Map<string, string>> {
    return mapping.selectXcoms(this.db, runId, taskIds);
  }

  async listInstanceXcoms(runId: string, taskId: string): Promise<Map<number, string>> {
    const rows = await this.db.selectFrom("xcoms").select(["map_index", "value"]).where("run_id", "=", runId).where("task_id", "=", taskId)
      .where("map_index", ">=", 0).orderBy("try_number", "asc").execute();
    return new Map(rows.map((r) => [Number(r.map_index), r.value]));
  }

  // ---- Rescheduling sensors

  rescheduleTry(key: TryKeyRef, nextPokeAt: string, firstPokeAt: string): Promise<boolean> {
    return this.adapter.exclusive((db) => rescheduleTry(db, key, nextPokeAt, firstPokeAt, (d, c) => this.change(d, c)));
  }

  firstPokeOf(key: TryKeyRef): Promise<string | null> {
    return firstPokeOf(this.db, key);
  }

  // ---- Deferred sensors

  deferTry(key: TryKeyRef & { dagId: string }, spec: Record<string, unknown>, owner: string): Promise<boolean> {
    return this.adapter.exclusive((db) => triggers.deferTry(db, key, spec, owner, (d, c) => this.change(d, c)));
  }

  claimTriggers(owner: string): Promise<number> {
    return this.adapter.exclusive((db) => triggers.claimTriggers(db, owner));
  }

  ownedTriggers(owner: string): Promise<triggers.TriggerRecord[]> {
    return triggers.ownedTriggers(this.db, owner);
  }

  completeTrigger(key: TryKeyRef, owner: string, outcome: TryOutcome): Promise<"done" | "gone" | "lost"> {
    return this.adapter.exclusive((db) => triggers.completeTrigger(db, key, owner, outcome, (d, c) => this.change(d, c)));
  }

  // ---- Shipped logs

  appendLogChunk(key: TryKeyRef, offset: number, text: string, times?: ShippedTimeMark[]): Promise<void> {
    return this.adapter.exclusive((db) => appendLogChunk(db, key, offset, text, times));
  }

  resetLogChunks(key: TryKeyRef): Promise<void> {
    return this.adapter.exclusive((db) => resetLogChunks(db, key));
  }

  readLogChunks(key: TryKeyRef, offset: number, maxBytes: number): Promise<ShippedLogSlice> {
    return readLogChunks(this.db, key, offset, maxBytes);
  }

  // ---- Pools

  async listPools(): Promise<Pool[]> {
    return (await this.db.selectFrom("pools").selectAll().orderBy("name").execute()).map((p) => ({ name: p.name, slots: Number(p.slots), description: p.description }));
  }

  async setPool(pool: Pool): Promise<void> {
    await this.adapter.exclusive(async (db) => {
      const r = await db.updateTable("pools").set({ slots: pool.slots, description: pool.description }).where("name", "=", pool.name).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) await db.insertInto("pools").values({ name: pool.name, slots: pool.slots, description: pool.description }).execute();
    });
  }

  deletePool(name: string): Promise<boolean> {
    return this.adapter.exclusive((db) => deletePoolRow(db, name));
  }

  poolUsage(): Promise<PoolUsage[]> {
    return poolUsage(this.db);
  }

  // ---- Connections and variables

  async upsertConnection(row: ConnectionRow): Promise<void> {
    const values = { conn_type: row.connType, host: row.host, port: row.port, login: row.login, password_enc: row.passwordEnc, schema_name: row.schema, extra_enc: row.extraEnc, description: row.description };
    await this.adapter.exclusive(async (db) => {
      const r = await db.updateTable("connections").set(values).where("conn_id", "=", row.connId).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) await db.insertInto("connections").values({ conn_id: row.connId, ...values }).execute();
    });
  }

  async getConnection(connId: string): Promise<ConnectionRow | undefined> {
    const r = await this.db.selectFrom("connections").selectAll().where("conn_id", "=", connId).executeTakeFirst();
    return r ? toConnection(r) : undefined;
  }

  async listConnections(): Promise<ConnectionRow[]> {
    return (await this.db.selectFrom("connections").selectAll().orderBy("conn_id").execute()).map(toConnection);
  }

  async deleteConnection(connId: string): Promise<boolean> {
    const r = await this.adapter.exclusive((db) => db.deleteFrom("connections").where("conn_id", "=", connId).executeTakeFirst());
    return Number(r.numDeletedRows) > 0;
  }

  async setVariable(row: VariableRow): Promise<void> {
    const values = { value_enc: row.valueEnc, is_secret: row.isSecret ? 1 : 0, description: row.description };
    await this.adapter.exclusive(async (db) => {
      const r = await db.updateTable("variables").set(values).where("key", "=", row.key).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) await db.insertInto("variables").values({ key: row.key, ...values }).execute();
    });
  }

  async getVariable(key: string): Promise<VariableRow | undefined> {
    const r = await this.db.selectFrom("variables").selectAll().where("key", "=", key).executeTakeFirst();
    return r ? { key: r.key, valueEnc: r.value_enc, isSecret: Number(r.is_secret) === 1, description: r.description } : undefined;
  }

  async listVariables(): Promise<VariableRow[]> {
    return (await this.db.selectFrom("variables").selectAll().orderBy("key").execute()).map((r) => ({ key: r.key, valueEnc: r.value_enc, isSecret: Number(r.is_secret) === 1, description: r.description }));
  }

  async deleteVariable(key: string): Promise<boolean> {
    const r = await this.adapter.exclusive((db) => db.deleteFrom("variables").where("key", "=", key).executeTakeFirst());
    return Number(r.numDeletedRows) > 0;
  }

  // ---- Change feed

  async addDatasetVersion(v: Omit<DatasetVersion, "id" | "createdAt">): Promise<DatasetVersion> {
    return this.adapter.exclusive(async (db) => {
      const row = await insertDatasetVersion(db, v, now());
      await this.change(db, { kind: "dataset", dagId: v.dagId, runId: v.runId, taskId: v.taskId, tryNumber: v.tryNumber, state: v.name });
      return row;
    });
  }

  async listDatasets(): Promise<DatasetSummary[]> {
    return selectDatasets(this.db);
  }

  async listDatasetVersions(name: string, limit = 100): Promise<DatasetVersion[]> {
    const rows = await this.db.selectFrom("dataset_versions").selectAll().where("name", "=", name).orderBy("id", "desc").limit(clampLimit(limit, 100)).execute();
    return rows.map(toDatasetVersion);
  }

  async getRunDatasetVersion(runId: string, name: string): Promise<DatasetVersion | undefined> {
    const r = await this.db.selectFrom("dataset_versions").selectAll().where("run_id", "=", runId).where("name", "=", name).orderBy("id", "desc").limit(1).executeTakeFirst();
    return r ? toDatasetVersion(r) : undefined;
  }

  async latestDatasetVersionIds(names: string[]): Promise<Map<string, number>> {
    return selectLatestIds(this.db, names);
  }

  async getDatasetWatermark(dagId: string): Promise<number | null> {
    const r = await this.db.selectFrom("dataset_triggers").select("consumed_id").where("dag_id", "=", dagId).executeTakeFirst();
    return r ? Number(r.consumed_id) : null;
  }

  async advanceDatasetWatermark(dagId: string, from: number, to: number): Promise<boolean> {
    return this.adapter.exclusive((db) => casWatermark(db, dagId, from, to, now()));
  }

  async appendChange(change: Omit<ChangeEvent, "id" | "at">): Promise<void> {
    // Under the write lock like every other change: on Postgres an id taken outside it could commit before a
    // smaller id still in flight, and a reader that moved past it would never see that smaller one.
    await this.adapter.exclusive((db) => this.change(db, change));
  }

  async listChangesSince(id: number, limit = 500): Promise<ChangeEvent[]> {
    const rows = await this.db.selectFrom("changes").selectAll().where("id", ">", id).orderBy("id").limit(clampLimit(limit, 500)).execute();
    return rows.map((r) => ({
      id: Number(r.id), at: r.at, kind: r.kind as ChangeEvent["kind"], dagId: r.dag_id, runId: r.run_id, taskId: r.task_id,
      tryNumber: r.try_number === null ? null : Number(r.try_number), state: r.state,
    }));
  }

  async latestChangeId(): Promise<number> {
    const r = await this.db.selectFrom("changes").select((eb) => eb.fn.max("id").as("id")).executeTakeFirst();
    return Number(r?.id ?? 0);
  }

  // ---- Coordination

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.takeLease(name, holder, ttlMs)) !== null;
  }

  takeLease(name: string, holder: string, ttlMs: number): Promise<number | null> {
    return this.adapter.exclusive((db) => takeLease(db, name, holder, ttlMs));
  }

  async leaseHolder(name: string): Promise<{ holder: string; expiresAt: number } | undefined> {
    const row = await this.db.selectFrom("leases").selectAll().where("name", "=", name).executeTakeFirst();
    return row && Number(row.expires_at) > Date.now() ? { holder: row.holder, expiresAt: Number(row.expires_at) } : undefined;
  }

  async recordSlaMiss(miss: { dagId: string; runId: string; taskId: string }): Promise<boolean> {
    return this.adapter.exclusive(async (db) => {
      const seen = await db.selectFrom("sla_misses").select("run_id").where("run_id", "=", miss.runId).where("task_id", "=", miss.taskId).executeTakeFirst();
      if (seen) return false;
      await db.insertInto("sla_misses").values({ run_id: miss.runId, task_id: miss.taskId, dag_id: miss.dagId, at: now() }).execute();
      return true;
    });
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.adapter.exclusive((db) => db.deleteFrom("leases").where("name", "=", name).where("holder", "=", holder).execute());
  }

  // ---- Workers (store/ops/fleet.ts)

  registerWorker(worker: NewWorker): Promise<void> {
    return this.adapter.exclusive((db) => fleet.registerWorker(db, worker));
  }

  heartbeatWorker(workerId: string): Promise<WorkerState | undefined> {
    return this.adapter.liveness((db) => fleet.heartbeatWorker(db, workerId));
  }

  stopWorker(workerId: string): Promise<void> {
    return this.adapter.exclusive((db) => fleet.stopWorker(db, workerId));
  }

  listWorkers(): Promise<WorkerRecord[]> {
    return fleet.listWorkers(this.db);
  }

  declareLostWorkers(timeoutMs: number, ids?: string[]): Promise<WorkerRecord[]> {
    return this.adapter.exclusive((db) => fleet.declareLostWorkers(db, timeoutMs, ids));
  }

  adoptTry(key: TryKeyRef, from: TryFence, to: { workerId: string; hostname: string }): Promise<TryFence | null> {
    return this.adapter.exclusive((db) => fleet.adoptTry(db, key, from, to));
  }

  // ---- Routes (store/ops/routes.ts)

  setRoute(route: Omit<Route, "updatedAt">): Promise<Route> {
    return this.adapter.exclusive((db) => routes.setRoute(db, route));
  }

  deleteRoute(target: string): Promise<boolean> {
    return this.adapter.exclusive((db) => routes.deleteRoute(db, target));
  }

  listRoutes(): Promise<Route[]> {
    return routes.listRoutes(this.db);
  }

  // ---- Audit log (store/ops/audit.ts)

  recordAudit(event: NewAuditEvent): Promise<AuditEvent> {
    return this.adapter.exclusive((db) => audit.insertAuditEvent(db, event));
  }

  listAudit(query: ListAuditQuery = {}): Promise<{ events: AuditEvent[]; total: number }> {
    return audit.selectAuditEvents(this.db, { ...query, limit: clampLimit(query.limit, 100), offset: clampOffset(query.offset) });
  }
}

function toConnection(r: Selectable<Database["connections"]>): ConnectionRow {
  return {
    connId: r.conn_id, connType: r.conn_type, host: r.host, port: r.port === null ? null : Number(r.port), login: r.login,
    passwordEnc: r.password_enc, schema: r.schema_name, extraEnc: r.extra_enc, description: r.description,
  };
}
