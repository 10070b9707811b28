/**
 * The API's one doorway to the core: actions (trigger, clear, mark, pause), logs, connections, variables and
 * environments. Routes call this interface, so tests and embedders can replace single functions.
 */
import * as actions from "../core/actions.js";
import * as connections from "../core/connections.js";
import { readLogChunk } from "../core/logs.js";
import { listEnvironments } from "../environments/catalog.js";
import type { DagRun, TaskState } from "../store/types.js";
import type { ApiContext } from "./services.js";

type ClearOptions = { downstream?: boolean; upstream?: boolean; onlyFailed?: boolean; mapIndex?: number };

/** A slice of a try's log. */
export interface LogChunkResult {
  text: string;
  offset: number;
  nextOffset: number;
  complete: boolean;
  /** When the lines were written (see core/log-times.ts); empty when unknown. */
  times: Array<{ offset: number; at: string }>;
}

/** Identifies one try of a task instance. */
export interface TryRef {
  runId: string;
  taskId: string;
  /** -1 (or absent) for an unmapped task. */
  mapIndex?: number;
  tryNumber: number;
}

/** The core functions the API calls, with the core's signatures. */
export interface CoreBridge {
  triggerDagRun(dagId: string, options: { conf?: Record<string, unknown>; logicalDate?: string; runId?: string }): Promise<DagRun>;
  clearTaskInstances(runId: string, taskIds: string[], options: ClearOptions): Promise<string[]>;
  /** What clearTaskInstances would reset ("task" or "task[3]"), changing nothing. */
  planClear(runId: string, taskIds: string[], options: ClearOptions): Promise<string[]>;
  markRunState(runId: string, state: "success" | "failed"): Promise<DagRun>;
  markTaskState(runId: string, taskId: string, state: TaskState, mapIndex?: number): Promise<unknown>;
  setDagPaused(dagId: string, paused: boolean): Promise<void>;
  readLogChunk(ref: TryRef, offset: number, maxBytes: number): Promise<LogChunkResult>;
  addConnection(input: Record<string, unknown>): Promise<unknown>;
  listConnections(): Promise<Record<string, unknown>[]>;
  deleteConnection(connId: string): Promise<unknown>;
  setVariable(key: string, value: string, options: { secret?: boolean; description?: string }): Promise<unknown>;
  listVariables(): Promise<Record<string, unknown>[]>;
  getVariable(key: string): Promise<unknown>;
  deleteVariable(key: string): Promise<unknown>;
  listEnvironments(): Promise<Record<string, unknown>[]>;
}

/** Builds the bridge for one context. `overrides` replace single functions (tests, embedding). */
export function createCoreBridge(ctx: ApiContext, overrides: Partial<CoreBridge> = {}): CoreBridge {
  const bridge: CoreBridge = {
    triggerDagRun: (dagId, options) => actions.triggerDagRun(ctx, dagId, options),
    clearTaskInstances: (runId, taskIds, options) => actions.clearTaskInstances(ctx, runId, taskIds, options),
    planClear: async (runId, taskIds, options) => (await actions.planClear(ctx, runId, taskIds, options)).tasks.map((t) => actions.instanceName(t.taskId, t.mapIndex)),
    markRunState: (runId, state) => actions.markRunState(ctx, runId, state),
    markTaskState: (runId, taskId, state, mapIndex) => actions.markTaskState(ctx, runId, taskId, state, { mapIndex }),
    setDagPaused: (dagId, paused) => actions.setDagPaused(ctx, dagId, paused),
    readLogChunk: (ref, offset, maxBytes) => readLogChunk(ctx, ref, offset, maxBytes),
    addConnection: (input) => connections.addConnection(ctx, input as unknown as connections.ConnectionInput),
    listConnections: async () => (await connections.listConnections(ctx)) as unknown as Record<string, unknown>[],
    deleteConnection: (connId) => connections.deleteConnection(ctx, connId),
    setVariable: (key, value, options) => connections.setVariable(ctx, key, value, options),
    listVariables: async () => (await connections.listVariables(ctx)) as unknown as Record<string, unknown>[],
    getVariable: (key) => connections.getVariable(ctx, key),
    deleteVariable: (key) => connections.deleteVariable(ctx, key),
    listEnvironments: async () => (await listEnvironments(ctx.config, { store: ctx.store })) as unknown as Record<string, unknown>[],
  };
  return { ...bridge, ...overrides };
}
