/**
 * Migrations of the "store at scale" work (ids 100-109), kept apart so that parallel work merges cleanly.
 */
import type { Migration } from "../migrations.js";
import { CHANGES_CHANNEL } from "./fleet-b-migrations.js";

export const BATCH_MIGRATIONS: Migration[] = [
  {
    id: 100,
    name: "notify_changes_per_statement",
    breaking: false,
    // One notification per statement rather than per change row: a batched write appends hundreds of rows in one
    // INSERT, and listeners only need to know that the feed moved (they read it from their own position).
    sql: (d) => d === "sqlite" ? [] : [
      `create or replace function airlock_notify_change() returns trigger language plpgsql as $$
        begin perform pg_notify('${CHANGES_CHANNEL}', ''); return null; end $$`,
      `drop trigger if exists changes_notify on changes`,
      `create trigger changes_notify after insert on changes for each statement execute function airlock_notify_change()`,
    ],
  },
  {
    id: 101,
    name: "queued_claim_index",
    breaking: false,
    // Only queued rows, in claim order per queue and DAG (ops/claim-candidates.ts): a claim reads each DAG's best
    // few without sorting the backlog.
    sql: () => [
      `create index task_instances_queued on task_instances (queue, dag_id, priority_weight desc, updated_at, run_id, task_id)
        where state = 'queued'`,
    ],
  },
];
