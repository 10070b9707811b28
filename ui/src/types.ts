// Shapes of the API's answers, taken from the server's own schemas so the UI cannot drift from the API.
import type { z } from "zod";
import type * as S from "../../src/api/schemas";
import type * as P from "../../src/api/pipeline-schemas";

export type DagSummary = z.output<typeof S.DagSummary>;
export type DagDetail = z.output<typeof S.DagDetail>;
export type DagList = z.output<typeof S.DagList>;
export type RunBrief = z.output<typeof S.RunBrief>;
export type Run = z.output<typeof S.RunView>;
export type Grid = z.output<typeof S.Grid>;
export type GridRun = Grid["runs"][number];
export type TaskInstance = z.output<typeof S.TaskInstanceView>;
export type Try = z.output<typeof S.TryView>;
export type ImportError = z.output<typeof S.ImportErrorView>;
export type Environment = z.output<typeof S.EnvironmentView>;
export type TaskView = z.output<typeof S.TaskView>;
export type Worker = z.output<typeof S.WorkerView>;
export type Route = z.output<typeof S.RouteView>;

export type PipelineView = z.output<typeof P.PipelineView>;
export type DatasetList = z.output<typeof P.DatasetList>;
export type DatasetDetail = z.output<typeof P.DatasetDetail>;

/** A row of the change feed as streamed over SSE (the store's own type). */
export type { ChangeEvent as Change } from "../../src/store/types";

/** A log chunk streamed over SSE. */
export interface LogEvent {
  runId: string;
  taskId: string;
  tryNumber: number;
  text: string;
  offset: number;
  nextOffset: number;
  complete: boolean;
  /** When the lines were written: each mark dates the bytes from its offset on. */
  times: Array<{ offset: number; at: string }>;
}

import type * as I from "../../src/api/insight-schemas";
export type DagCode = z.output<typeof I.DagCode>;
export type Calendar = z.output<typeof I.Calendar>;
export type TaskDurations = z.output<typeof I.TaskDurations>;
export type Gantt = z.output<typeof I.Gantt>;
export type RunXcoms = z.output<typeof I.RunXcoms>;
export type Connection = z.output<typeof S.ConnectionView>;
export type Variable = z.output<typeof S.VariableView>;
