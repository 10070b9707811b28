/**
 * The versioned task protocol between the orchestrator (supervisor) and the runner inside a task's environment.
 * In: one JSON payload on stdin (or a read-only mounted file), never argv or env.
 * Out: stdout/stderr lines are the log; structured events are NDJSON lines on a separate channel (fd 3 locally).
 */
import type { Connection, DataInterval } from "../sdk/types.js";
import type { SerializedTask } from "../sdk/serialized.js";

export const PROTOCOL_VERSION = 1;

/** Everything a try needs; secrets it was granted travel only here. */
export interface TaskPayload {
  protocol: typeof PROTOCOL_VERSION;
  dagId: string;
  taskId: string;
  runId: string;
  tryNumber: number;
  /** The task as serialized (kind, args, templated fields). */
  operator: SerializedTask;
  /** Compiled DAG module to import for `fn`/`branch` callables, as a path the runner can read. */
  dagModule: string | null;
  /** Folder of the DAG version's Python code (python tasks), as a path the runner can read. */
  codeDir?: string | null;
  context: PayloadContext;
  inputs: PayloadInputs;
  grants: PayloadGrants;
  /** Values to mask as *** in every line the task logs. */
  masks: string[];
  /** Per-try nonce used when events travel on stdout (containers). */
  nonce: string;
  /** A pipeline node's datasets: where each input can be read and each output must be written. */
  datasets?: PayloadDatasets;
}

/** One dataset as a node sees it: its type and a path (read-only for inputs, in the scratch dir for outputs). */
export interface PayloadDataset {
  type: "json" | "text" | "csv" | "file" | "folder";
  path: string;
}

/** Inputs (staged by the orchestrator, nothing else) and outputs (published by it after success). */
export interface PayloadDatasets {
  inputs: Record<string, PayloadDataset>;
  outputs: Record<string, PayloadDataset>;
}

/** Where a node's output `name` is written inside its scratch directory. */
export function outputPath(scratchDir: string, name: string): string {
  return `${scratchDir}/.airlock/out/${name}`;
}

/** Run-level context of a try. */
export interface PayloadContext {
  params: Record<string, unknown>;
  conf: Record<string, unknown>;
  logicalDate: string;
  ds: string;
  ts: string;
  dataInterval: DataInterval;
  timezone: string;
  runType: string;
  /** Directory the task may write to. */
  scratchDir: string;
  /** Environment the try runs in, if any (module resolution is confined to it). */
  environment: { name: string; root: string } | null;
  /** A mapped instance's position in the list it is mapped over; absent (or -1) for unmapped tasks. */
  mapIndex?: number;
  /** A mapped instance's element of that list (absent for unmapped tasks). */
  item?: unknown;
}

/** XComs of upstream tasks; large values are passed by reference to a readable file. */
export interface PayloadInputs {
  xcom: Record<string, XComValue>;
}

/** An XCom value inline, or a reference to a JSON file holding it. */
export type XComValue = { inline: unknown } | { ref: string; size: number; sha256: string };

/** Connections and variables the task may read (granted or named by its templates). */
export interface PayloadGrants {
  connections: Record<string, Connection>;
  variables: Record<string, string>;
  /** Granted (or template-named) names that do not exist, so the task can say "create it", not "grant it". */
  missing?: { connections: string[]; variables: string[] };
}

/** An error as carried by the protocol. */
export interface ProtocolError {
  type: string;
  message: string;
  stack?: string;
}

/** Events the runner emits, each with a sequence number starting at 1. */
export type TaskEvent =
  | { seq: number; type: "started"; pid: number; protocol: number }
  | { seq: number; type: "log"; level: "info" | "warn" | "error"; message: string }
  | { seq: number; type: "heartbeat"; at: number }
  | { seq: number; type: "result"; value: XComValue; skipped?: boolean; branch?: string[] | null }
  | { seq: number; type: "error"; error: ProtocolError; skipped?: boolean };

/** Results at or above this size are written to a file and sent by reference. */
export const INLINE_RESULT_LIMIT = 1024 * 1024;

/** Encodes an event as one line; with a nonce, prefixes it so it can share stdout with the log. */
export function encodeEvent(event: TaskEvent, nonce?: string): string {
  const json = JSON.stringify(event);
  return nonce ? `${EVENT_PREFIX}${nonce}:${json}\n` : `${json}\n`;
}

export const EVENT_PREFIX = "\u0000airlock:";

/** A reused runner's line after each try's output: the prefix, the try's nonce, ":" and the try's exit code. */
export const REUSE_END_PREFIX = "\u0000airlock-end:";

/** Decodes one events-channel line; returns undefined for a line that is not a well-formed event. */
export function decodeEvent(line: string): TaskEvent | undefined {
  try {
    const e = JSON.parse(line) as TaskEvent;
    if (typeof e !== "object" || e === null || typeof e.seq !== "number" || typeof e.type !== "string") return undefined;
    return e;
  } catch {
    return undefined;
  }
}
