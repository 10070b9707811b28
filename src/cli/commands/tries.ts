/** `airlock tasks tries <dag> <run> <task>`: every try of a task instance with its isolation, host and outcome. */
import type { Command } from "commander";
import { NotFoundError } from "../../core/errors.js";
import { tryView } from "../../api/views.js";
import { withContext } from "../context.js";
import { printJson, printTable, UsageError } from "../output.js";

/** How a try's isolation reads to a person: a reused runner says so. */
export function isolationLabel(t: { isolation: string; reused: boolean }): string {
  return t.reused ? `${t.isolation} (reused)` : t.isolation;
}

/** Adds `tries` to the `tasks` command group. */
export function addTriesCommand(tasks: Command): void {
  tasks.command("tries <dag> <run> <task>").description('tries of a task instance, oldest first: state, isolation ("process (reused)" for a shared runner), host, exit code ("latest" for the newest run)')
    .option("--map-index <n>", "the instance of a mapped task (0-based)").option("--json", "print {dagId, runId, taskId, tries: [{tryNumber, state, isolation, reused, ...}]}")
    .action(async (dagId: string, runId: string, taskId: string, o: { mapIndex?: string; json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const mapIndex = o.mapIndex === undefined ? -1 : Number(o.mapIndex);
        if (!Number.isInteger(mapIndex) || mapIndex < -1) throw new UsageError(`--map-index "${o.mapIndex}" is not a map index`, "Map indexes start at 0; `airlock tasks states <dag> <run>` lists them");
        const run = runId === "latest" ? (await ctx.store.listRuns({ dagId, limit: 1 })).runs[0] : await ctx.store.getRun(runId);
        if (!run || run.dagId !== dagId) throw new NotFoundError("Run", runId, `List runs with \`airlock runs list ${dagId}\` (or use "latest")`);
        if (!(await ctx.store.getTaskInstance(run.runId, taskId, mapIndex))) throw new NotFoundError("Task instance", `${taskId}${mapIndex >= 0 ? `[${mapIndex}]` : ""}`, `List the run's tasks with \`airlock tasks states ${dagId} ${run.runId}\``);
        const tries = (await ctx.store.listTries(run.runId, taskId, mapIndex)).sort((a, b) => a.tryNumber - b.tryNumber).map(tryView);
        if (o.json) return printJson({ dagId, runId: run.runId, taskId, ...(mapIndex >= 0 ? { mapIndex } : {}), tries });
        printTable(tries.map((t) => ({ try: t.tryNumber, state: t.state, isolation: isolationLabel(t), host: t.hostname, started: t.startedAt, ended: t.endedAt ?? "", exit: t.exitCode ?? "" })),
          ["try", "state", "isolation", "host", "started", "ended", "exit"]);
      });
    });
}
