/** `airlock pipelines list|show|run-once` and `airlock datasets list|show` (kedro-airflow-k8s's verbs). */
import { Command } from "commander";
import { triggerDagRun } from "../../core/actions.js";
import { datasetDetail, listPipelineDags, pipelineView, requirePipeline } from "../../core/pipelines.js";
import { DagFileProcessor } from "../../dagfiles/processor.js";
import { summarizeRun } from "../../services/test-run.js";
import { withContext } from "../context.js";
import { EXIT_CODES, parseConf, printJson, printTable } from "../output.js";
import { datasetListItem, datasetVersionItem, listJson } from "../json-shapes.js";
import { auditCli } from "../../core/audit.js";
import { printSummary, waitForRun } from "./dags.js";

const bytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

/** The `pipelines` command group. */
export function pipelinesCommand(): Command {
  const cmd = new Command("pipelines").description("data pipelines: list, show (nodes, datasets, the DAG it compiles to), run once");
  cmd.command("list").description("pipelines with their schedule and nodes").option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        await new DagFileProcessor(ctx).refresh();
        const views = (await listPipelineDags(ctx)).map((d) => pipelineView(ctx, d));
        if (o.json) printJson(listJson(views));
        else printTable(views.map((v) => ({ pipeline: v.pipelineId, schedule: v.scheduleDatasets.length ? `datasets: ${v.scheduleDatasets.join(", ")}` : v.schedule ?? "manual", paused: v.isPaused, nodes: v.nodes.length, datasets: v.datasets.length, file: v.fileloc })), ["pipeline", "schedule", "paused", "nodes", "datasets", "file"]);
        return EXIT_CODES.ok;
      });
    });
  cmd.command("show <pipeline>").description("nodes, datasets with their storage, and the DAG's tasks").option("--json", "print JSON")
    .action(async (id: string, o: { json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        await new DagFileProcessor(ctx).refresh();
        const v = pipelineView(ctx, await requirePipeline(ctx, id));
        if (o.json) {
          printJson(v);
          return EXIT_CODES.ok;
        }
        process.stdout.write(`${v.pipelineId}${v.description ? ` — ${v.description}` : ""}\nfile: ${v.fileloc}\n\nnodes:\n`);
        printTable(v.nodes.map((n) => ({ node: n.name, kind: n.kind, inputs: n.inputs.join(", "), outputs: n.outputs.join(", "), environment: n.environment ?? "", tags: n.tags.join(", ") })), ["node", "kind", "inputs", "outputs", "environment", "tags"]);
        process.stdout.write("\ndatasets:\n");
        printTable(v.datasets.map((d) => ({ dataset: d.name, storage: d.storage ? `${d.storage.type} ${d.storage.path}` : "artifact (kept by Airlock)", producer: d.producer ?? "(catalog)", consumers: d.consumers.join(", ") })), ["dataset", "storage", "producer", "consumers"]);
        process.stdout.write("\nDAG tasks:\n");
        printTable(v.tasks.map((t) => ({ task: t.taskId, kind: t.kind, upstream: t.upstream.join(", ") })), ["task", "kind", "upstream"]);
        return EXIT_CODES.ok;
      });
    });
  cmd.command("run-once <pipeline>").description("one manual run through the scheduler; --wait exits with its outcome")
    .option("--conf <json>", "run conf (overrides params)").option("--wait", "wait for the run to end; exit 0 iff it succeeded").option("--json", "print JSON")
    .action(async (id: string, o: { conf?: string; wait?: boolean; json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        await new DagFileProcessor(ctx).refresh();
        await requirePipeline(ctx, id);
        const run = await triggerDagRun(ctx, id, { conf: parseConf(o.conf) });
        await auditCli(ctx, { action: "trigger", dagId: id, target: run.runId, details: { logicalDate: run.logicalDate } });
        if (!o.wait) {
          if (o.json) printJson({ dagId: id, runId: run.runId, state: run.state });
          else process.stdout.write(`${run.runId}\n`);
          return EXIT_CODES.ok;
        }
        if (!o.json) process.stderr.write(`triggered ${run.runId}; waiting\n`);
        const done = await waitForRun(ctx, run.runId, { progress: !o.json });
        const summary = await summarizeRun(ctx, done);
        if (o.json) printJson(summary);
        else printSummary(summary);
        return done.state === "success" ? EXIT_CODES.ok : EXIT_CODES.failed;
      });
    });
  return cmd;
}

/** The `datasets` command group. */
export function datasetsCommand(): Command {
  const cmd = new Command("datasets").description("datasets written by pipeline nodes and their versions");
  cmd.command("list").description("every dataset with its newest version").option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const list = await ctx.store.listDatasets();
        if (o.json) printJson(listJson(list.map(datasetListItem)));
        else printTable(list.map((d) => ({ dataset: d.name, versions: d.versions, "last written": d.latest.createdAt, by: `${d.latest.dagId}.${d.latest.taskId}`, run: d.latest.runId, size: bytes(d.latest.size) })), ["dataset", "versions", "last written", "by", "run", "size"]);
        return EXIT_CODES.ok;
      });
    });
  cmd.command("show <name>").description("a dataset's versions: which run and node wrote each, when, where, its size").option("--json", "print JSON")
    .action(async (name: string, o: { json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const d = await datasetDetail(ctx, name);
        if (o.json) printJson({ name: d.name, versions: d.versions.map(datasetVersionItem) });
        else printTable(d.versions.map((v) => ({ version: v.id, written: v.createdAt, run: v.runId, node: `${v.dagId}.${v.taskId}`, try: v.tryNumber, size: bytes(v.size), uri: v.uri })), ["version", "written", "run", "node", "try", "size", "uri"]);
        return EXIT_CODES.ok;
      });
    });
  return cmd;
}
