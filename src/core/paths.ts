/** Where the orchestrator keeps per-try files. All under the private state directory. */
import { chmodSync, mkdirSync } from "node:fs";
import path from "node:path";

/** Identifies one try for path purposes. */
export interface TryRef {
  dagId: string;
  runId: string;
  taskId: string;
  /** A mapped instance's index (absent or -1 for an unmapped task). */
  mapIndex?: number;
  tryNumber: number;
}

/** Airflow's log layout names a mapped instance's folder `map_index=N`. */
const mapped = (t: TryRef): string[] => (t.mapIndex ?? -1) >= 0 ? [`map_index=${t.mapIndex}`] : [];

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.:+-]/g, "_");

/** Directory of a try: raw output, events, artifacts. Removed-when-done parts are inside. */
export function tryDir(stateDir: string, t: TryRef): string {
  return path.join(stateDir, "tries", safe(t.dagId), safe(t.runId), safe(t.taskId), ...mapped(t), String(t.tryNumber));
}

/** The try's final, masked log. */
export function logPath(stateDir: string, t: TryRef): string {
  return path.join(stateDir, "logs", `dag_id=${safe(t.dagId)}`, `run_id=${safe(t.runId)}`, `task_id=${safe(t.taskId)}`, ...mapped(t), `attempt=${t.tryNumber}.log`);
}

/**
 * Creates `dir` (and missing parents) readable by its owner only, and narrows it to 0700 if it already existed with
 * wider modes (state dirs made by older versions): the store, logs and keys inside must not be readable by others.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}
