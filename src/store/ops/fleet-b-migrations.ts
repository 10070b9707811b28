/**
 * Migrations of the "writes wake, logs from anywhere, fair claims" work (ids 20-29). Kept apart from the initial
 * schema so that migrations added by parallel work merge without touching the same lines.
 */
import type { Migration } from "../migrations.js";

/** Postgres notification channel a committed change-feed row is announced on. */
export const CHANGES_CHANNEL = "airlock_changes";

export const FLEET_B_MIGRATIONS: Migration[] = [
  {
    id: 20,
    name: "notify_changes",
    breaking: false,
    // Postgres announces every committed change-feed row, whoever wrote it; SQLite has no cross-process
    // notification in SQL (its writers touch a wake file, see sqlite/wake-file.ts).
    sql: (d) => d === "sqlite" ? [] : [
      `create or replace function airlock_notify_change() returns trigger language plpgsql as $$
        begin perform pg_notify('${CHANGES_CHANNEL}', NEW.id::text); return NEW; end $$`,
      `create trigger changes_notify after insert on changes for each row execute function airlock_notify_change()`,
    ],
  },
  {
    id: 21,
    name: "fair_claims",
    breaking: false,
    sql: () => [
      `alter table task_instances add column priority_weight integer not null default 1`,
      `alter table dag_runs add column max_active_tasks integer`,
      `create index task_instances_dag_state on task_instances (dag_id, state)`,
    ],
  },
  {
    id: 22,
    name: "log_chunks",
    breaking: false,
    sql: (d) => [
      `create table log_chunks (run_id text not null, task_id text not null, try_number integer not null,
        byte_offset ${d === "sqlite" ? "integer" : "bigint"} not null, byte_length integer not null, text text not null,
        primary key (run_id, task_id, try_number, byte_offset))`,
    ],
  },
  {
    id: 23,
    name: "sensor_reschedule",
    breaking: false,
    // "<try number>|<ISO time>" of the first poke of a rescheduling sensor's current try (its timeout starts there).
    sql: () => [`alter table task_instances add column first_poke text`],
  },
];
