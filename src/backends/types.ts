/**
 * The one small interface every execution backend implements: launch a try, adopt it after a restart, kill it.
 * A backend delivers the payload, and gets the try's output into two orchestrator-side files:
 * `rawLogPath` (stdout+stderr bytes) and `eventsPath` (NDJSON task events). The supervisor reads only those.
 */
import type { BackendName, Resources } from "../sdk/types.js";
import type { TaskPayload } from "../runner/protocol.js";

/** Identifies one try. */
export interface TryKey {
  dagId: string;
  runId: string;
  taskId: string;
  /** A mapped instance's index (absent or -1 for an unmapped task). */
  mapIndex?: number;
  tryNumber: number;
}

/** The parts that identify a try, in a fixed order: an unmapped try's keep the form they had before mapping existed. */
export function tryIdentity(key: TryKey): unknown[] {
  const mapIndex = key.mapIndex ?? -1;
  return mapIndex >= 0 ? [key.dagId, key.runId, key.taskId, key.tryNumber, mapIndex] : [key.dagId, key.runId, key.taskId, key.tryNumber];
}

/** A built environment a try runs in. */
export interface ResolvedEnvironment {
  name: string;
  /** Content key of the build. */
  key: string;
  /** Directory holding the build's package.json and node_modules. */
  root: string;
  /** Node binary of the environment's runtime; null = the orchestrator's own node. */
  nodeBinary: string | null;
  /** A Python environment's venv interpreter (`binary`), its version and its base installation (`home`). */
  python?: { binary: string; version: string; home: string } | null;
  /** Image reference for container backends, when built. */
  image?: string | null;
}

/** What the executor asks a backend to run. */
export interface LaunchRequest {
  key: TryKey;
  payload: TaskPayload;
  /** Orchestrator-private directory of this try (raw log, events, result artifacts). */
  tryDir: string;
  rawLogPath: string;
  eventsPath: string;
  /** Scratch directory the task may write to (also in payload.context.scratchDir). */
  scratchDir: string;
  environment: ResolvedEnvironment | null;
  resources: Resources | null;
  network: "none" | "host";
  /** Paths (read-only) the task must be able to read, e.g. the compiled DAG module and XCom artifacts. */
  readablePaths: string[];
  /**
   * The task or its environment declared `reuse: true`: the try may run in a long-lived runner that ran earlier
   * tries of the same environment (backends that cannot reuse launch it as usual). @default false
   */
  reuse?: boolean;
}

/** How a try's process ended. */
export interface ExitInfo {
  /** Exit code, or null when killed by a signal or unknown (adopted after a restart). */
  code: number | null;
  signal: string | null;
  /** The kernel or engine killed it for exceeding its memory limit. */
  oomKilled?: boolean;
  /** Human-readable evidence (e.g. memory limit, container state). */
  detail?: string;
}

/** JSON-serialisable identity of a running try, stored so a restarted orchestrator can adopt it. */
export type TryHandle = Record<string, unknown> & { backend: BackendName };

/** A try that has been launched (or adopted). */
export interface RunningTry {
  handle: TryHandle;
  /** Resolves once the try has ended and its output files are complete. */
  exited: Promise<ExitInfo>;
  /** Kills the try and everything it started; idempotent. */
  kill(reason: string): Promise<void>;
  /**
   * The try's events (NDJSON lines), when the backend kept them in memory rather than in the events file: a try
   * that cannot be adopted (a reused runner's) has no reader after this process. Complete once `exited` resolved.
   */
  events?: () => readonly string[];
}

/** An execution backend. */
export interface Backend {
  readonly name: BackendName;
  /** Whether the backend can run here; `hint` says how to make it available. */
  check(): Promise<{ ok: true } | { ok: false; hint: string }>;
  launch(request: LaunchRequest): Promise<RunningTry>;
  /** Re-attaches to a try launched by an earlier orchestrator; null if it is gone (its files tell how it ended). */
  adopt(handle: TryHandle, request: Pick<LaunchRequest, "key" | "tryDir" | "rawLogPath" | "eventsPath">): Promise<RunningTry | null>;
  /** Releases what the backend holds (connections, watchers). */
  close(): Promise<void>;
}

/** Process limit of tries that set none, the same on every backend that can limit processes (a fork bomb stops here). */
export const DEFAULT_PIDS_LIMIT = 1024;
