/** Table types for the query builder. Dates are ISO-8601 UTC strings; booleans are 0/1; JSON is text. */
import type { Generated } from "kysely";

export interface DagsTable { dag_id: string; fileloc: string; is_paused: number; is_active: number; version_hash: string; last_parsed_at: string; next_logical_date: string | null; tags: string; paused_reason: string | null }
export interface DagVersionsTable { hash: string; dag_id: string; serialized: string; bundle_path: string; created_at: string }
export interface ImportErrorsTable { fileloc: string; message: string; updated_at: string }
export interface DagRunsTable {
  run_id: string; dag_id: string; run_type: string; state: string; logical_date: string; data_interval_start: string;
  data_interval_end: string; conf: string; params: string; version_hash: string; created_at: string;
  start_date: string | null; end_date: string | null;
  /** Added by migration 21; null means no bound. */
  max_active_tasks?: number | null;
}
export interface TaskInstancesTable {
  run_id: string; task_id: string; dag_id: string; state: string; try_number: number; max_tries: number; pool: string;
  queue: string; isolation: string | null; not_before: string | null; start_date: string | null; end_date: string | null;
  updated_at: string;
  /** Effective priority weight (migration 21). */
  priority_weight?: number;
  /** "<try>|<ISO>" of a rescheduling sensor's first poke (migration 23). */
  first_poke?: string | null;
  /** Position of a mapped instance in its list; -1 for an unmapped task or a mapped one not yet expanded (migration 50). */
  map_index: Generated<number>;
  /** The task's maxActiveTisPerDag; null for none (migration 50). */
  max_active_tis?: number | null;
}
export interface TaskTriesTable {
  run_id: string; task_id: string; try_number: number; dag_id: string; state: string; isolation: string;
  worker_id: string; hostname: string; handle: string | null; log_path: string; started_at: string;
  ended_at: string | null; exit_code: number | null; error: string | null; epoch: Generated<number>;
  map_index: Generated<number>;
  /** 1 when the try ran in a reused runner (its handle says so). */
  reused: Generated<number>;
}
export interface XcomsTable { run_id: string; task_id: string; map_index: Generated<number>; try_number: number; value: string; size: number; created_at: string }
export interface ConnectionsTable {
  conn_id: string; conn_type: string | null; host: string | null; port: number | null; login: string | null;
  password_enc: string | null; schema_name: string | null; extra_enc: string | null; description: string | null;
}
export interface VariablesTable { key: string; value_enc: string; is_secret: number; description: string | null }
export interface PoolsTable { name: string; slots: number; description: string | null }
export interface ChangesTable {
  id: Generated<number>; at: string; kind: string; dag_id: string | null; run_id: string | null; task_id: string | null;
  try_number: number | null; state: string | null;
}
export interface LogChunksTable { run_id: string; task_id: string; map_index: Generated<number>; try_number: number; byte_offset: number; byte_length: number; text: string; times: string | null }
export interface LeasesTable { name: string; holder: string; expires_at: number; epoch: Generated<number> }
export interface WorkersTable {
  worker_id: string; hostname: string; machine: string; pid: number; queues: string; backends: string; version: string;
  started_at: string; heartbeat_at: number; state: string; state_changed_at: string;
}
export interface RoutesTable {
  target: string; dag_id: string; task_id: string | null; queue: string; fallbacks: string; updated_by: string; updated_at: string;
}
export interface SlaMissesTable { run_id: string; task_id: string; dag_id: string; at: string }
export interface DatasetVersionsTable {
  id: Generated<number>; name: string; dag_id: string; run_id: string; task_id: string; try_number: number; type: string;
  uri: string; size: number; created_at: string;
}
export interface DatasetTriggersTable { dag_id: string; consumed_id: number; updated_at: string }
export interface AuditLogTable {
  id: Generated<number>; at: string; actor: string; via: string; action: string; dag_id: string | null; target: string | null; details: string;
}
export interface TriggersTable {
  run_id: string; task_id: string; map_index: number; try_number: number; dag_id: string; spec: string; owner: string | null; created_at: string;
}
export interface MigrationsTable { id: number; name: string; applied_at: string }

/** The whole schema. */
export interface Database {
  dags: DagsTable;
  dag_versions: DagVersionsTable;
  import_errors: ImportErrorsTable;
  dag_runs: DagRunsTable;
  task_instances: TaskInstancesTable;
  task_tries: TaskTriesTable;
  xcoms: XcomsTable;
  connections: ConnectionsTable;
  variables: VariablesTable;
  pools: PoolsTable;
  changes: ChangesTable;
  leases: LeasesTable;
  workers: WorkersTable;
  routes: RoutesTable;
  log_chunks: LogChunksTable;
  sla_misses: SlaMissesTable;
  airlock_migrations: MigrationsTable;
  dataset_versions: DatasetVersionsTable;
  dataset_triggers: DatasetTriggersTable;
  audit_log: AuditLogTable;
  triggers: TriggersTable;
}
