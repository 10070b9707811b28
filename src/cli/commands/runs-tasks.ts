/** `airlock runs list` and `airlock tasks states|logs`. */
import { Command, Option } from "commander";
import type { AirlockContext } from "../../core/context.js";
import { NotFoundError } from "../../core/errors.js";
import { readLogChunk } from "../../core/logs.js";
import { escapeControls } from "../../core/utf8.js";
import { LineStamper, stampedLines, type StampMark } from "../../core/log-stamps.js";
import { summarizeRun, type RunSummary } from "../../services/test-run.js";
import { RUN_STATES, type DagRun, type RunState } from "../../store/types.js";
import { clearTaskInstances, instanceName, markTaskState, planClear } from "../../core/actions.js";
import { confirm } from "../confirm.js";
import { RunLogTail } from "../log-tail.js";
import { logicalDateArg } from "./dags.js";
import { testTask } from "../../services/task-test.js";
import { BACKEND_NAMES, type BackendName } from "../../sdk/types.js";
import { guarded, withContext } from "../context.js";
import { parseConf, plural, printJson, printTable, UsageError } from "../output.js";
import { remoteClient, remoteOptions, type RemoteOptions } from "../remote.js";
import { listJson } from "../json-shapes.js";
import { auditCli } from "../../core/audit.js";
import { addTriesCommand, isolationLabel } from "./tries.js";

async function findRun(ctx: AirlockContext, dagId: string, runId: string): Promise<DagRun> {
  // Blame what is missing: an unknown DAG is not an unknown run.
  if (!(await ctx.store.getDag(dagId))) throw new NotFoundError("DAG", dagId, "List DAGs with `airlock dags list` (it also shows import errors)");
  const run = runId === "latest" ? (await ctx.store.listRuns({ dagId, limit: 1 })).runs[0] : await ctx.store.getRun(runId);
  if (!run || run.dagId !== dagId) throw new NotFoundError("Run", runId, `List runs with \`airlock runs list ${dagId}\` (or use "latest")`);
  return run;
}

/** `--map-index N`: an instance of the named mapped task. */
function mapIndexArg(value: string | undefined, taskId: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--map-index "${value}" is not a map index`, "Map indexes start at 0; `airlock tasks states <dag> <run>` lists them");
  if (!taskId) throw new UsageError("--map-index needs a task", "Name the mapped task, e.g. `airlock tasks clear <dag> <run> each --map-index 3`");
  return n;
}

/** The `runs` command group. */
export function runsCommand(): Command {
  const runs = new Command("runs").description("DAG runs");
  runs.command("list <dag>").description("runs of a DAG, newest first").option("--state <state>", `only runs in this state (${RUN_STATES.join(", ")})`)
    .option("--limit <n>", "at most this many", "25").option("--json", "print JSON")
    .action(async (dagId: string, o: { state?: string; limit: string; json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        if (o.state && !RUN_STATES.includes(o.state as RunState)) throw new UsageError(`--state "${o.state}" is unknown`, `Use one of ${RUN_STATES.join(", ")}`);
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit "${o.limit}" is not a positive integer`, "e.g. --limit 50");
        if (!(await ctx.store.getDag(dagId))) throw new NotFoundError("DAG", dagId, "List DAGs with `airlock dags list`");
        const { runs: list, total } = await ctx.store.listRuns({ dagId, states: o.state ? [o.state as RunState] : undefined, limit });
        if (o.json) return printJson(listJson(list, { total }));
        printTable(list.map((r) => ({ run: r.runId, type: r.runType, state: r.state, logical: r.logicalDate, started: r.startDate ?? "", ended: r.endDate ?? "" })), ["run", "type", "state", "logical", "started", "ended"]);
      });
    });
  return runs;
}

/** The `tasks` command group. */
export function tasksCommand(): Command {
  const tasks = new Command("tasks").description("task instances and their logs");

  remoteOptions(tasks.command("states <dag> <run>").description('states of a run\'s tasks ("latest" for the newest run)').option("--json", "print JSON"))
    .action(async (dagId: string, runId: string, o: { json?: boolean } & RemoteOptions) => {
      const client = await remoteClient(o);
      const print = (s: RunSummary) => {
        if (o.json) return printJson(s);
        process.stdout.write(`run ${s.runId}: ${s.state}\n`);
        const waiting = s.tasks.some((t) => t.waitReason);
        const mapped = s.tasks.some((t) => t.mapIndex !== undefined);
        printTable(s.tasks.map((t) => ({ task: t.taskId, map: t.mapIndex ?? "", state: t.state, try: t.tryNumber, isolation: t.isolation ? isolationLabel({ isolation: t.isolation, reused: t.reused === true }) : "", waiting: t.waitReason ?? "" })), ["task", ...(mapped ? ["map"] : []), "state", "try", "isolation", ...(waiting ? ["waiting"] : [])]);
      };
      if (client) {
        await guarded(Boolean(o.json), async () => {
          const run = await client.getRun(dagId, runId);
          const tis = await client.listTaskInstances(dagId, run.runId);
          print({ dagId, runId: run.runId, state: run.state, tasks: tis.taskInstances.map((t) => ({ taskId: t.taskId, ...(t.mapIndex >= 0 ? { mapIndex: t.mapIndex } : {}), state: t.state, tryNumber: t.tryNumber, isolation: t.isolation, ...(t.reused ? { reused: true as const } : {}), xcom: (t as { xcom?: unknown }).xcom ?? null, ...(t.waitReason ? { waitReason: t.waitReason } : {}) })) });
        });
        return;
      }
      await withContext(Boolean(o.json), async (ctx) => print(await summarizeRun(ctx, await findRun(ctx, dagId, runId))));
    });

  remoteOptions(tasks.command("logs <dag> <run> <task>").description("a try's log (the latest try unless --try)").option("--try <n>", "try number")
    .option("--map-index <n>", "the instance of a mapped task (0-based, as `tasks states` lists them)")
    .option("-f, --follow", "keep printing as the log grows until the try ends").option("--json", "print {dagId, runId, taskId, mapIndex, tryNumber, log} (not with --follow)")
    .option("-t, --timestamps", "start each line with the time it was written (UTC; \"-\" when unknown); with --json adds lines: [{at, text}]"))
    .action(async (dagId: string, runId: string, taskId: string, o: { try?: string; mapIndex?: string; follow?: boolean; json?: boolean; timestamps?: boolean } & RemoteOptions) => {
      if (o.json && o.follow) {
        process.exitCode = 2;
        process.stderr.write("error: --json and --follow cannot be combined\nhint: use --follow for a live stream, --json for a finished log\n");
        return;
      }
      const tryArg = o.try === undefined ? undefined : Number(o.try);
      if (tryArg !== undefined && (!Number.isInteger(tryArg) || tryArg < 1)) {
        process.exitCode = 2;
        process.stderr.write(`error: --try "${o.try}" is not a try number\nhint: try numbers start at 1\n`);
        return;
      }
      const mapIndex = o.mapIndex === undefined ? -1 : Number(o.mapIndex);
      if (!Number.isInteger(mapIndex) || mapIndex < -1) {
        process.exitCode = 2;
        process.stderr.write(`error: --map-index "${o.mapIndex}" is not a map index\nhint: map indexes start at 0 (see \`airlock tasks states ${dagId} ${runId}\`)\n`);
        return;
      }
      // Each chunk as printed: its lines prefixed with their times under --timestamps.
      const stamper = new LineStamper();
      const show = (chunk: { text: string; offset: number; times?: StampMark[] }) => escapeControls(o.timestamps ? stamper.push(chunk) : chunk.text);
      const jsonOf = (id: string, n: number, text: string, marks: StampMark[]) => ({
        dagId, runId: id, taskId, ...(mapIndex >= 0 ? { mapIndex } : {}), tryNumber: n, log: text, ...(o.timestamps ? { lines: stampedLines(text, marks) } : {}),
      });
      const client = await remoteClient(o);
      if (client) {
        await guarded(false, async () => {
          const run = await client.getRun(dagId, runId);
          const ti = await client.getTaskInstance(dagId, run.runId, taskId, mapIndex);
          const n = tryArg ?? Math.max(1, ti.tryNumber);
          if (o.follow) for await (const chunk of client.followLogChunks(dagId, run.runId, taskId, n, { mapIndex })) process.stdout.write(show(chunk));
          else {
            // What is there now, in chunks of the API's largest size.
            let text = "";
            const marks: StampMark[] = [];
            for (let offset = 0; ;) {
              const chunk = await client.readLog(dagId, run.runId, taskId, n, offset, 4 << 20, mapIndex);
              if (o.json) {
                text += chunk.text;
                marks.push(...(chunk.times ?? []));
              } else process.stdout.write(show(chunk));
              if (chunk.complete || chunk.nextOffset <= offset) break;
              offset = chunk.nextOffset;
            }
            if (o.json) printJson(jsonOf(run.runId, n, text, marks));
          }
        });
        return;
      }
      await withContext(Boolean(o.json), async (ctx) => {
        const run = await findRun(ctx, dagId, runId);
        const ti = await ctx.store.getTaskInstance(run.runId, taskId, mapIndex);
        if (!ti) {
          const mapped = (await ctx.store.listTaskInstances(run.runId)).filter((t) => t.taskId === taskId && t.mapIndex >= 0).length;
          if (mapped > 0) throw new NotFoundError("Task instance", `${taskId}[${mapIndex}]`, `"${taskId}" is mapped into ${mapped} instances: pass --map-index N with N from 0 to ${mapped - 1}`);
          throw new NotFoundError("Task", taskId, `Show the run's tasks with \`airlock tasks states ${dagId} ${run.runId}\``);
        }
        let n = tryArg ?? ti.tryNumber;
        // Following a task that has not started yet waits for its first try.
        while (o.follow && n === 0) {
          await new Promise((r) => setTimeout(r, 250));
          n = (await ctx.store.getTaskInstance(run.runId, taskId, mapIndex))?.tryNumber ?? 0;
        }
        if (n === 0) throw new NotFoundError("Try", `${taskId} try 1`, `The task has not run yet (state ${ti.state}); use --follow to wait for it`);
        let offset = 0;
        let collected = "";
        const marks: StampMark[] = [];
        for (;;) {
          const chunk = await readLogChunk(ctx, { runId: run.runId, taskId, mapIndex, tryNumber: n }, offset, 1 << 20);
          if (o.json) {
            collected += chunk.text;
            marks.push(...chunk.times);
          }
          // A task's output may hold terminal escape sequences; they are shown, never obeyed.
          else process.stdout.write(show(chunk));
          const more = chunk.nextOffset > offset;
          offset = chunk.nextOffset;
          // Without --follow, read what is there (in 1 MiB chunks) and stop.
          if (chunk.complete || (!o.follow && !more)) break;
          if (!more) await new Promise((r) => setTimeout(r, 200));
        }
        if (o.json) printJson(jsonOf(run.runId, n, collected, marks));
      });
    });
  tasks.command("test <dag> <task> [date]").description("run one task once, ignoring its dependencies and writing no state (no run, no try, no log is kept); exit 0 iff it succeeds")
    .option("--conf <json>", "run conf (overrides params)").addOption(new Option("--backend <backend>", "run it on this backend").choices(BACKEND_NAMES as string[]))
    .option("--json", "print the task's summary as JSON")
    .action(async (dagId: string, taskId: string, date: string | undefined, o: { conf?: string; backend?: BackendName; json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        let tail: RunLogTail | null = null;
        const summary = await testTask(ctx, dagId, taskId, {
          conf: parseConf(o.conf), backend: o.backend ?? null, logicalDate: logicalDateArg(date),
          onRunCreated: (runId, runCtx) => {
            if (o.json) return;
            tail = new RunLogTail(runCtx, runId, (text) => process.stdout.write(text));
            tail.start();
          },
          onTaskEnd: async (ti) => {
            if (!o.json && ti.taskId === taskId) await tail?.flush(ti.taskId, ti.tryNumber);
          },
        }).finally(() => (tail as RunLogTail | null)?.stop());
        const t = summary.tasks[0];
        if (o.json) printJson({ dagId, taskId, state: t?.state ?? "none", tryNumber: t?.tryNumber ?? 0, isolation: t?.isolation ?? null, xcom: t?.xcom ?? null });
        else process.stdout.write(`--- ${taskId}: ${t?.state ?? "none"}${t?.xcom !== null && t?.xcom !== undefined ? ` → ${JSON.stringify(t.xcom).slice(0, 200)}` : ""} (no state was written)\n`);
        return t?.state === "success" ? 0 : 1;
      });
    });

  tasks.command("clear <dag> <run> [task]").description('reset task instances so they run again (every task of the run when no task is given; "latest" for the newest run)')
    .option("--downstream", "also clear every task downstream").option("--upstream", "also clear every task upstream")
    .option("--failed", "only instances that failed or are upstream_failed").option("--dry-run", "show what would be cleared, change nothing")
    .option("--map-index <n>", "only this instance of the mapped task given")
    .option("-y, --yes", "do not ask for confirmation").option("--json", "print JSON")
    .action(async (dagId: string, runId: string, taskId: string | undefined, o: { downstream?: boolean; upstream?: boolean; failed?: boolean; dryRun?: boolean; yes?: boolean; json?: boolean; mapIndex?: string }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const run = await findRun(ctx, dagId, runId);
        const mapIndex = mapIndexArg(o.mapIndex, taskId);
        const options = { downstream: o.downstream, upstream: o.upstream, onlyFailed: o.failed, mapIndex };
        const plan = await planClear(ctx, run.runId, taskId ? [taskId] : [], options);
        if (plan.tasks.length === 0) {
          if (o.json) return printJson({ runId: run.runId, dryRun: Boolean(o.dryRun), cleared: [] });
          process.stdout.write(`nothing to clear in ${run.runId}${o.failed ? " (no failed task instances)" : ""}\n`);
          return;
        }
        if (!o.json) {
          process.stdout.write(`${o.dryRun ? "would clear" : "clearing"} ${plural(plan.tasks.length, "task instance")} of ${run.runId}:\n`);
          printTable(plan.tasks.map((t) => ({ task: instanceName(t.taskId, t.mapIndex), state: t.state })), ["task", "state"]);
        }
        if (o.dryRun) {
          if (o.json) printJson({ runId: run.runId, dryRun: true, cleared: plan.tasks.map((t) => instanceName(t.taskId, t.mapIndex)) });
          return;
        }
        if (!o.yes && !(await confirm("Clear them?"))) {
          throw new UsageError("not confirmed: nothing was cleared", "Answer y, or pass --yes to clear without asking (for scripts)");
        }
        const cleared = await clearTaskInstances(ctx, run.runId, taskId ? [taskId] : [], options);
        await auditCli(ctx, { action: "clear", dagId, target: run.runId, details: { tasks: cleared, downstream: Boolean(o.downstream), upstream: Boolean(o.upstream), onlyFailed: Boolean(o.failed) } });
        if (o.json) return printJson({ runId: run.runId, dryRun: false, cleared });
        process.stdout.write(`cleared ${plural(cleared.length, "task instance")}; the scheduler runs them again\n`);
      });
    });

  tasks.command("mark <dag> <run> <task> <state>").description('set a task instance to success or failed by hand ("latest" for the newest run)')
    .option("--downstream", "also mark every task downstream").option("--map-index <n>", "only this instance of a mapped task (else every instance)").option("--json", "print JSON")
    .action(async (dagId: string, runId: string, taskId: string, state: string, o: { downstream?: boolean; json?: boolean; mapIndex?: string }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        if (state !== "success" && state !== "failed") throw new UsageError(`state "${state}" cannot be set by hand`, "Use success or failed");
        const run = await findRun(ctx, dagId, runId);
        const marked = await markTaskState(ctx, run.runId, taskId, state, { downstream: o.downstream, mapIndex: mapIndexArg(o.mapIndex, taskId) });
        await auditCli(ctx, { action: "mark", dagId, target: run.runId, details: { tasks: marked, state } });
        if (o.json) return printJson({ runId: run.runId, state, marked });
        process.stdout.write(`marked ${plural(marked.length, "task instance")} ${state}: ${marked.join(", ")}\n`);
      });
    });
  addTriesCommand(tasks);
  return tasks;
}

