/** Schemas of the pipeline and dataset routes (beside schemas.ts, which holds the DAG, run and task shapes). */
import { z } from "zod";
import { Id } from "./schemas.js";

const Storage = z.object({ type: z.enum(["json", "text", "csv", "file", "folder"]), path: z.string() });

export const PipelineParams = z.object({ pipelineId: Id });
export const DatasetParams = z.object({ name: z.string().min(1).max(200).regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "use letters, digits, '_', '-' and '.'") });

export const PipelineNodeView = z.object({
  name: z.string(), kind: z.string(), inputs: z.array(z.string()), outputs: z.array(z.string()), tags: z.array(z.string()),
  environment: z.string().nullable(), backend: z.string().nullable(), upstream: z.array(z.string()),
});

export const PipelineView = z.object({
  pipelineId: z.string(), fileloc: z.string(), description: z.string().nullable(), schedule: z.string().nullable(),
  scheduleDatasets: z.array(z.string()), isPaused: z.boolean(), nodes: z.array(PipelineNodeView),
  datasets: z.array(z.object({ name: z.string(), producer: z.string().nullable(), consumers: z.array(z.string()), storage: Storage.nullable() })),
  tasks: z.array(z.object({ taskId: z.string(), kind: z.string(), upstream: z.array(z.string()) })),
});

export const PipelineList = z.object({ pipelines: z.array(PipelineView) });

export const DatasetVersionView = z.object({
  id: z.number().int(), name: z.string(), dagId: z.string(), runId: z.string(), taskId: z.string(), tryNumber: z.number().int(),
  type: z.string(), uri: z.string(), size: z.number().int(), createdAt: z.string(),
});

export const DatasetList = z.object({
  datasets: z.array(z.object({ name: z.string(), versions: z.number().int(), latest: DatasetVersionView })),
});

export const DatasetDetail = z.object({ name: z.string(), versions: z.array(DatasetVersionView) });
