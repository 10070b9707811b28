/** Pipeline and dataset routes: list and show pipelines, run one once, list datasets and their versions. */
import { datasetDetail, listPipelineDags, pipelineView, requirePipeline } from "../../core/pipelines.js";
import { defineRoute, type AnyRoute } from "../route.js";
import { DatasetDetail, DatasetList, DatasetParams, PipelineList, PipelineParams, PipelineView } from "../pipeline-schemas.js";
import { RunView, TriggerBody } from "../schemas.js";
import { runView } from "../views.js";

/** The pipeline and dataset routes. */
export const pipelineRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/pipelines", operationId: "listPipelines", tag: "Pipelines", role: "read",
    summary: "Pipelines (DAGs made by pipeline()) with their nodes and datasets",
    response: PipelineList,
    async handler({ services: { ctx } }) {
      return { pipelines: (await listPipelineDags(ctx)).map((d) => pipelineView(ctx, d)) };
    },
  }),
  defineRoute({
    method: "GET", path: "/pipelines/{pipelineId}", operationId: "getPipeline", tag: "Pipelines", role: "read", errors: [404],
    summary: "A pipeline: nodes, datasets with their storage, and the DAG's tasks it compiles to",
    params: PipelineParams, response: PipelineView,
    async handler({ params, services: { ctx } }) {
      return pipelineView(ctx, await requirePipeline(ctx, params.pipelineId));
    },
  }),
  defineRoute({
    method: "POST", path: "/pipelines/{pipelineId}/runs", operationId: "runPipelineOnce", tag: "Pipelines", role: "admin", status: 201,
    errors: [404, 409],
    summary: "Run a pipeline once (a manual run of its DAG); conf is validated against its params",
    params: PipelineParams, body: TriggerBody, response: RunView,
    async handler({ params, body, services: { ctx, core, hub } }) {
      await requirePipeline(ctx, params.pipelineId);
      const run = await core.triggerDagRun(params.pipelineId, { conf: body.conf, logicalDate: body.logicalDate, runId: body.runId });
      void hub.poll();
      return runView(run);
    },
  }),
  defineRoute({
    method: "GET", path: "/datasets", operationId: "listDatasets", tag: "Datasets", role: "read",
    summary: "Datasets written by pipeline nodes, each with its newest version",
    response: DatasetList,
    async handler({ services: { ctx } }) {
      return { datasets: await ctx.store.listDatasets() };
    },
  }),
  defineRoute({
    method: "GET", path: "/datasets/{name}", operationId: "getDataset", tag: "Datasets", role: "read", errors: [404],
    summary: "A dataset's versions, newest first: which run and node wrote each, when, where and its size",
    params: DatasetParams, response: DatasetDetail,
    async handler({ params, services: { ctx } }) {
      return datasetDetail(ctx, params.name);
    },
  }),
];
