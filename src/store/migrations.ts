import { FLEET_B_MIGRATIONS } from "./ops/fleet-b-migrations.js";
import { BATCH_MIGRATIONS } from "./ops/batch-migrations.js";
import { AUDIT_MIGRATIONS } from "./ops/audit.js";
import { MAPPING_MIGRATIONS } from "./ops/mapping.js";
import { TRIGGER_MIGRATIONS } from "./ops/triggers.js";
import { LOG_TIMES_MIGRATIONS } from "./ops/log-chunks.js";
import { REUSED_MIGRATIONS } from "./ops/reused.js";

/**
 * Numbered migrations. Each is plain SQL per dialect. They run inside one exclusive transaction
 * (SQLite: BEGIN IMMEDIATE; Postgres: an advisory lock), so two processes starting at once apply them once.
 * A migration marked `breaking` needs every older process to be stopped first.
 */
export interface Migration {
  id: number;
  name: string;
  breaking: boolean;
  sql: (dialect: "sqlite" | "postgres") => string[];
}

const serial = (d: "sqlite" | "postgres") => (d === "sqlite" ? "integer primary key autoincrement" : "bigserial primary key");
const bigint = (d: "sqlite" | "postgres") => (d === "sqlite" ? "integer" : "bigint");

/** Every migration, applied in id order (feature modules contribute blocks of ids; see the ops/ files). */
export const MIGRATIONS: Migration[] = ([
  {
    id: 1,
    name: "initial",
    breaking: false,
    sql: (d) => [
      `create table dags (dag_id text primary key, fileloc text not null, is_paused integer not null default 0,
        is_active integer not null default 1, version_hash text not null, last_parsed_at text not null,
        next_logical_date text, tags text not null default '[]')`,
      `create table dag_versions (hash text primary key, dag_id text not null, serialized text not null,
        bundle_path text not null, created_at text not null)`,
      `create table import_errors (fileloc text primary key, message text not null, updated_at text not null)`,
      `create table dag_runs (run_id text primary key, dag_id text not null, run_type text not null, state text not null,
        logical_date text not null, data_interval_start text not null, data_interval_end text not null,
        conf text not null, params text not null, version_hash text not null, created_at text not null,
        start_date text, end_date text)`,
      `create index dag_runs_dag_logical on dag_runs (dag_id, logical_date)`,
      `create index dag_runs_state on dag_runs (state)`,
      `create table task_instances (run_id text not null, task_id text not null, dag_id text not null,
        state text not null, try_number integer not null default 0, max_tries integer not null default 1,
        pool text not null, queue text not null, isolation text, not_before text, start_date text, end_date text,
        updated_at text not null, primary key (run_id, task_id))`,
      `create index task_instances_state on task_instances (state, queue)`,
      `create table task_tries (run_id text not null, task_id text not null, try_number integer not null,
        dag_id text not null, state text not null, isolation text not null, worker_id text not null,
        hostname text not null, handle text, log_path text not null, started_at text not null, ended_at text,
        exit_code integer, error text, primary key (run_id, task_id, try_number))`,
      `create index task_tries_running on task_tries (state, hostname)`,
      `create table xcoms (run_id text not null, task_id text not null, try_number integer not null, value text not null,
        size ${bigint(d)} not null, created_at text not null, primary key (run_id, task_id, try_number))`,
      `create table connections (conn_id text primary key, conn_type text, host text, port integer, login text,
        password_enc text, schema_name text, extra_enc text, description text)`,
      `create table variables (key text primary key, value_enc text not null, is_secret integer not null default 0,
        description text)`,
      `create table pools (name text primary key, slots integer not null, description text)`,
      `insert into pools (name, slots, description) values ('default', 128, 'Default pool')`,
      `create table changes (id ${serial(d)}, at text not null, kind text not null, dag_id text, run_id text,
        task_id text, try_number integer, state text)`,
      `create table leases (name text primary key, holder text not null, expires_at ${bigint(d)} not null)`,
    ],
  },
  {
    // Many machines: the worker registry, a fencing epoch on tries and on leases, and the routing map.
    id: 10,
    name: "fleet",
    breaking: false,
    sql: (d) => [
      `create table workers (worker_id text primary key, hostname text not null, machine text not null, pid integer not null,
        queues text not null, backends text not null, version text not null, started_at text not null,
        heartbeat_at ${bigint(d)} not null, state text not null, state_changed_at text not null)`,
      `alter table task_tries add column epoch integer not null default 0`,
      `create index task_tries_worker on task_tries (state, worker_id)`,
      `alter table leases add column epoch integer not null default 0`,
      `create table routes (target text primary key, dag_id text not null, task_id text, queue text not null,
        fallbacks text not null, updated_by text not null, updated_at text not null)`,
    ],
  },
  ...FLEET_B_MIGRATIONS,
  {
    id: 30,
    name: "dataset versions and data-aware schedules",
    breaking: false,
    sql: (d) => [
      `create table dataset_versions (id ${serial(d)}, name text not null, dag_id text not null, run_id text not null,
        task_id text not null, try_number integer not null, type text not null, uri text not null,
        size ${bigint(d)} not null, created_at text not null)`,
      `create index dataset_versions_name on dataset_versions (name, id)`,
      `create index dataset_versions_run on dataset_versions (run_id, name)`,
      `create table dataset_triggers (dag_id text primary key, consumed_id ${bigint(d)} not null, updated_at text not null)`,
    ],
  },
  {
    id: 40,
    name: "dag paused reason",
    breaking: false,
    // Why a DAG was paused when Airlock paused it (maxConsecutiveFailedRuns); null when a person paused it.
    sql: () => ["alter table dags add column paused_reason text"],
  },
  {
    id: 41,
    name: "sla misses",
    breaking: false,
    // One row per task instance that missed its sla, so onSlaMiss is called once, by whichever scheduler sees it first.
    sql: () => ["create table sla_misses (run_id text not null, task_id text not null, dag_id text not null, at text not null, primary key (run_id, task_id))"],
  },
  ...MAPPING_MIGRATIONS,
  ...TRIGGER_MIGRATIONS,
  ...BATCH_MIGRATIONS,
  ...LOG_TIMES_MIGRATIONS,
  ...AUDIT_MIGRATIONS,
  ...REUSED_MIGRATIONS,
] as Migration[]).sort((a, b) => a.id - b.id);
