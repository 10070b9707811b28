/** `airlock dags list|show|pause|unpause|test|trigger|backfill`. */
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { logPath } from "../../core/paths.js";
import { clearTaskInstances, runIdFor, setDagPaused, triggerDagRun, runTasks } from "../../core/actions.js";
import type { AirlockContext } from "../../core/context.js";
import { NotFoundError } from "../../core/errors.js";
import { resolveParams } from "../../core/params.js";
import { watchSignal } from "../../core/wait-run.js";
import { DagFileProcessor } from "../../dagfiles/processor.js";
import { intervalsBetween, pendingRunCount, runStartsAt } from "../../scheduler/timetable.js";
import { confirm } from "../confirm.js";
import { RunLogTail } from "../log-tail.js";
import { ScheduleError } from "../../scheduler/schedule-error.js";
import { parseZonedDate } from "../../scheduler/zoned-time.js";
import { BACKEND_NAMES, type BackendName } from "../../sdk/types.js";
import { startOrchestrator } from "../../services/orchestrator.js";
import { summarizeRun, testDag, type RunSummary } from "../../services/test-run.js";
import { isolationLabel } from "./tries.js";
import type { DagRun } from "../../store/types.js";
import { guarded, withContext } from "../context.js";
import { EXIT_CODES, parseConf, plural, printJson, printTable, UsageError } from "../output.js";
import { remoteClient, remoteOptions, type RemoteOptions } from "../remote.js";
import { dagListItem, dagShowJson, listJson, type DagListItem } from "../json-shapes.js";
import { auditCli } from "../../core/audit.js";

const backendOption = () => new Option("--backend <backend>", "run every task on this backend").choices(BACKEND_NAMES as string[]);

async function requireDag(ctx: AirlockContext, dagId: string) {
  const dag = await ctx.store.getDag(dagId);
  if (!dag || !dag.isActive) throw new NotFoundError("DAG", dagId, "List DAGs with `airlock dags list` (it also shows import errors)");
  return dag;
}

/** Prints a run summary as a table. */
export function printSummary(s: RunSummary): void {
  process.stdout.write(`run ${s.runId} of ${s.dagId}: ${s.state}\n`);
  printTable(s.tasks.map((t) => ({ task: t.taskId, state: t.state, try: t.tryNumber, isolation: t.isolation ? isolationLabel({ isolation: t.isolation, reused: t.reused === true }) : "", xcom: t.xcom === null ? "" : JSON.stringify(t.xcom).slice(0, 60) })), ["task", "state", "try", "isolation", "xcom"]);
}

/** Raised when `--wait --timeout` ran out before the run ended. */
class WaitTimeoutError extends UsageError {
  override name = "WaitTimeoutError";
}

/**
 * Waits for a run to end, woken by the store's change signals (a write by any process). Says once why it may wait for ever (no scheduler, a paused DAG), and
 * with `progress` prints each task's state change on stderr.
 */
export async function waitForRun(ctx: AirlockContext, runId: string, options: { timeoutMs?: number; progress?: boolean } = {}): Promise<DagRun> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const seen = new Map<string, string>();
  let warnedScheduler = false;
  let warnedPaused = false;
  const signal = await watchSignal(ctx.store);
  try {
    for (;;) {
      const run = (await ctx.store.getRun(runId)) as DagRun;
      if (options.progress) {
        for (const ti of await ctx.store.listTaskInstances(runId)) {
          if (seen.get(ti.taskId) !== ti.state && (seen.has(ti.taskId) || ti.state !== "none")) process.stderr.write(`  ${ti.taskId}: ${ti.state}${ti.tryNumber > 1 ? ` (try ${ti.tryNumber})` : ""}\n`);
          seen.set(ti.taskId, ti.state);
        }
      }
      if (run.state === "success" || run.state === "failed") return run;
      if (!warnedScheduler && !(await ctx.store.leaseHolder("scheduler"))) {
        warnedScheduler = true;
        process.stderr.write("warning: no scheduler is running for this store; start `airlock standalone` (or `airlock scheduler` and `airlock worker`) and the run will proceed\n");
      }
      if (!warnedPaused && (await ctx.store.getDag(run.dagId))?.isPaused && run.runType !== "backfill") {
        warnedPaused = true;
        process.stderr.write(`warning: DAG ${run.dagId} is paused, so this run waits; unpause it with \`airlock dags unpause ${run.dagId}\`\n`);
      }
      if (Date.now() > deadline) {
        throw new WaitTimeoutError(`run ${runId} did not end within ${(options.timeoutMs ?? 0) / 1000} s (state ${run.state}); it goes on`,
          `Follow it with \`airlock tasks states ${run.dagId} ${runId}\`, or wait longer with a larger --timeout`);
      }
      await signal.wait(deadline - Date.now());
    }
  } finally {
    await signal.close();
  }
}

/** Under the DAG table: why Airlock paused a DAG, for each DAG it paused itself. */
function printPauseReasons(dags: Array<{ dagId: string; pausedReason?: string | null }>): void {
  for (const d of dags) if (d.pausedReason) process.stdout.write(`${d.dagId}: ${d.pausedReason} (airlock dags unpause ${d.dagId})\n`);
}

/** Parses a --timeout such as "90", "90s", "5m" into milliseconds. */
function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--timeout "${text}" is not a duration`, "e.g. --timeout 90s, --timeout 5m");
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
}

/** The `dags` command group. */
export function dagsCommand(): Command {
  const dags = new Command("dags").description("list, inspect, pause, test and trigger DAGs");

  remoteOptions(dags.command("list").description("DAGs with their schedule, state and last run; import errors too").option("--json", "print JSON"))
    .action(async (o: { json?: boolean } & RemoteOptions) => {
      const client = await remoteClient(o);
      if (client) {
        await guarded(Boolean(o.json), async () => {
          const [list, errors] = await Promise.all([client.listDags({ limit: 1000 }), client.listImportErrors()]);
          if (o.json) {
            printJson(listJson(list.dags.map((d): DagListItem => ({
              dagId: d.dagId, description: d.description ?? null, fileloc: d.fileloc, schedule: d.schedule, timezone: d.timezone, tags: d.tags,
              isPaused: d.isPaused, pausedReason: d.pausedReason ?? null, taskCount: d.taskCount, nextLogicalDate: d.nextLogicalDate ?? null,
              nextRunAt: d.nextRunAt ?? null, lastRun: d.recentRuns[0] ? { runId: d.recentRuns[0].runId, state: d.recentRuns[0].state } : null,
            })), { importErrors: errors.importErrors.map((e) => ({ fileloc: e.fileloc, message: e.message })) }));
          }
          else {
            printTable(list.dags.map((d) => ({ dag: d.dagId, schedule: d.schedule ?? "manual", paused: d.isPaused, tasks: d.taskCount, "next run": d.isPaused ? "" : d.nextRunAt ?? "", file: d.fileloc })), ["dag", "schedule", "paused", "tasks", "next run", "file"]);
            printPauseReasons(list.dags);
            for (const e of errors.importErrors) process.stderr.write(`import error in ${e.fileloc}:\n  ${e.message.replace(/\n/g, "\n  ")}\n`);
          }
        });
        return;
      }
      await withContext(Boolean(o.json), async (ctx) => {
        await new DagFileProcessor(ctx).refresh();
        const { dags: list } = await ctx.store.listDags({ limit: 1000 });
        const importErrors = await ctx.store.listImportErrors();
        const lastRuns = new Map<string, DagRun | undefined>();
        for (const d of list) lastRuns.set(d.dagId, (await ctx.store.listRuns({ dagId: d.dagId, limit: 1 })).runs[0]);
        if (o.json) {
          printJson(listJson(list.map((d) => dagListItem(d, lastRuns.get(d.dagId))), { importErrors: importErrors.map((e) => ({ fileloc: e.fileloc, message: e.message })) }));
        } else {
          // "next run" is when it starts (its interval's end), not its logical date: a daily run of the 1st starts on the 2nd.
          printTable(list.map((d) => ({ dag: d.dagId, schedule: d.serialized.schedule ?? "manual", paused: d.isPaused, tasks: d.serialized.order.length, "last run": lastRuns.get(d.dagId)?.state ?? "", "next run": d.isPaused ? "" : runStartsAt(d.serialized, d.nextLogicalDate) ?? "", file: d.fileloc })), ["dag", "schedule", "paused", "tasks", "last run", "next run", "file"]);
          printPauseReasons(list);
          for (const e of importErrors) process.stderr.write(`import error in ${e.fileloc}:\n  ${e.message.replace(/\n/g, "\n  ")}\n`);
        }
      });
    });

  dags.command("show <dag>").description("a DAG's tasks, dependencies and options").option("--json", "print JSON")
    .action(async (dagId: string, o: { json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        await new DagFileProcessor(ctx).refresh();
        const dag = await requireDag(ctx, dagId);
        if (o.json) return printJson(dagShowJson(dag));
        const s = dag.serialized;
        const paused = dag.isPaused ? ` [paused${dag.pausedReason ? `: ${dag.pausedReason}` : ""}]` : "";
        process.stdout.write(`${s.id}${s.description ? ` — ${s.description}` : ""}\nfile: ${dag.fileloc}\nschedule: ${s.schedule ?? "manual"} (${s.timezone})${paused}\n\n`);
        printTable(s.order.map((id) => {
          const t = s.tasks[id];
          return { task: id, operator: t?.kind, upstream: t?.upstream.join(",") ?? "", rule: t?.triggerRule, retries: t?.retries, environment: t?.environment ?? "", backend: t?.backend ?? "" };
        }), ["task", "operator", "upstream", "rule", "retries", "environment", "backend"]);
      });
    });

  for (const [name, paused] of [["pause", true], ["unpause", false]] as const) {
    const cmd = dags.command(`${name} <dag>`).description(paused ? "stop scheduling new runs and starting new tasks" : "resume scheduling (asks first when that would create many catch-up runs)");
    if (!paused) cmd.option("-y, --yes", "unpause without asking, whatever the catch-up");
    cmd.action(async (dagId: string, o: { yes?: boolean }) => {
      await withContext(false, async (ctx) => {
        await new DagFileProcessor(ctx).refresh();
        if (!paused && !o.yes) {
          const dag = await requireDag(ctx, dagId);
          const limit = ctx.config.scheduler.catchupConfirmAbove;
          const latest = dag.serialized.catchup ? await ctx.store.latestScheduledRun(dagId) : undefined;
          const pending = dag.serialized.catchup ? pendingRunCount(dag.serialized, latest?.logicalDate ?? null, new Date(), limit + 1) : 0;
          if (pending > limit && !(await confirm(`Unpausing ${dagId} creates more than ${limit} catch-up runs at once (catchup: true since ${dag.serialized.startDate}). Unpause?`))) {
            throw new UsageError(`unpausing ${dagId} would create more than ${limit} catch-up runs; nothing was changed`,
              `Answer y on a terminal, pass --yes, set catchup: false in the DAG, or backfill a smaller range with \`airlock dags backfill\``);
          }
        }
        await setDagPaused(ctx, dagId, paused);
        await auditCli(ctx, { action: paused ? "pause" : "unpause", dagId });
        process.stdout.write(`${dagId} ${paused ? "paused" : "unpaused"}\n`);
      });
    });
  }

  dags.command("delete <dag>").description("delete a DAG's runs, task instances, XComs and logs from the store (its file stays: remove it too, or the DAG comes back at the next parse)")
    .option("-y, --yes", "delete without asking").option("--json", "print JSON")
    .action(async (dagId: string, o: { yes?: boolean; json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const dag = await ctx.store.getDag(dagId);
        if (!dag) throw new NotFoundError("DAG", dagId, "List DAGs with `airlock dags list`");
        const { total } = await ctx.store.listRuns({ dagId, limit: 1 });
        if (!o.yes && !(await confirm(`Delete DAG ${dagId} with its ${plural(total, "run")} and their logs?`))) {
          throw new UsageError("not confirmed: nothing was deleted", "Answer y on a terminal, or pass --yes (for scripts)");
        }
        const deleted = await ctx.store.deleteDag(dagId);
        await auditCli(ctx, { action: "delete", dagId, details: { runs: deleted?.runs ?? 0 } });
        rmSync(path.dirname(path.dirname(path.dirname(logPath(ctx.config.stateDir, { dagId, runId: "x", taskId: "x", tryNumber: 1 })))), { recursive: true, force: true });
        const fileStays = existsSync(dag.fileloc);
        if (o.json) return printJson({ dagId, deletedRuns: deleted?.runs ?? 0, fileStays });
        process.stdout.write(`deleted ${dagId} and ${plural(deleted?.runs ?? 0, "run")}${fileStays ? `; its file ${dag.fileloc} stays, so the DAG comes back (empty) at the next parse unless you remove it` : ""}\n`);
      });
    });

  dags.command("test <dag> [date]").description("run one run to completion in this process, without the scheduler; exit 0 iff it succeeds (date: its logical date, default now)")
    .option("--conf <json>", "run conf (overrides params)").addOption(backendOption()).option("--json", "print the run summary as JSON")
    .action(async (dagId: string, date: string | undefined, o: { conf?: string; backend?: BackendName; json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        const conf = parseConf(o.conf);
        const logicalDate = logicalDateArg(date);
        // Log lines appear as tasks write them, each prefixed with its task; a task's end line follows its log.
        let tail: RunLogTail | null = null;
        const summary = await testDag(ctx, dagId, {
          conf, backend: o.backend ?? null, logicalDate,
          onRunCreated: (runId) => {
            if (o.json) return;
            tail = new RunLogTail(ctx, runId, (text) => process.stdout.write(text));
            tail.start();
          },
          onTaskEnd: async (ti) => {
            if (o.json) return;
            await tail?.flush(ti.taskId, ti.tryNumber);
            process.stdout.write(`--- ${ti.taskId}: ${ti.state}${ti.tryNumber > 0 ? ` (try ${ti.tryNumber}, ${ti.isolation})` : ""}\n`);
          },
        }).finally(() => (tail as RunLogTail | null)?.stop());
        if (o.json) printJson(summary);
        else printSummary(summary);
        return summary.state === "success" ? EXIT_CODES.ok : EXIT_CODES.failed;
      });
    });

  remoteOptions(dags.command("trigger <dag>").description("create a run for the scheduler; prints its run id")
    .option("--conf <json>", "run conf (overrides params)").option("--run-id <id>", "choose the run id")
    .option("--logical-date <iso>", "logical date of the run").option("--wait", "wait for the run to end, showing task states as they change; exit 0 iff it succeeded")
    .option("--timeout <duration>", "with --wait: give up waiting after this long (e.g. 90s, 5m), exit 2; the run goes on").option("--json", "print JSON"))
    .action(async (dagId: string, o: { conf?: string; runId?: string; logicalDate?: string; wait?: boolean; timeout?: string; json?: boolean } & RemoteOptions) => {
      const client = await remoteClient(o);
      if (client) {
        await guarded(Boolean(o.json), async () => {
          const run = await client.triggerDagRun(dagId, { conf: parseConf(o.conf), runId: o.runId, logicalDate: o.logicalDate });
          if (!o.wait) {
            if (o.json) printJson({ dagId, runId: run.runId, state: run.state });
            else process.stdout.write(`${run.runId}\n`);
            return EXIT_CODES.ok;
          }
          const done = await client.waitForRun(dagId, run.runId);
          const tis = await client.listTaskInstances(dagId, run.runId);
          const summary: RunSummary = { dagId, runId: done.runId, state: done.state, tasks: tis.taskInstances.map((t) => ({ taskId: t.taskId, state: t.state, tryNumber: t.tryNumber, isolation: t.isolation, ...(t.reused ? { reused: true as const } : {}), xcom: (t as { xcom?: unknown }).xcom ?? null })) };
          if (o.json) printJson(summary);
          else printSummary(summary);
          return done.state === "success" ? EXIT_CODES.ok : EXIT_CODES.failed;
        });
        return;
      }
      await withContext(Boolean(o.json), async (ctx) => {
        await new DagFileProcessor(ctx).refresh();
        const run = await triggerDagRun(ctx, dagId, { conf: parseConf(o.conf), runId: o.runId, logicalDate: o.logicalDate });
        await auditCli(ctx, { action: "trigger", dagId, target: run.runId, details: { logicalDate: run.logicalDate } });
        if (!o.wait) {
          if (o.json) printJson({ dagId, runId: run.runId, state: run.state });
          else process.stdout.write(`${run.runId}\n`);
          return EXIT_CODES.ok;
        }
        if (!o.json) process.stderr.write(`triggered ${run.runId}; waiting\n`);
        const done = await waitForRun(ctx, run.runId, { timeoutMs: parseTimeout(o.timeout), progress: !o.json });
        const summary = await summarizeRun(ctx, done);
        if (o.json) printJson(summary);
        else printSummary(summary);
        return done.state === "success" ? EXIT_CODES.ok : EXIT_CODES.failed;
      });
    });

  dags.command("backfill <dag>").description("create and run the runs of every interval whose logical date is between two dates (both inclusive; a date without a time means the whole day, in the DAG's time zone)")
    .requiredOption("--start <date>", "first logical date, e.g. 2026-01-01").requiredOption("--end <date>", "last logical date (inclusive)")
    .option("--dry-run", "list the runs it would create and the existing ones it would skip; change nothing")
    .option("--rerun-failed", "clear and run again existing runs of the range that failed (by default existing runs are kept)")
    .option("--json", "print JSON")
    .action(async (dagId: string, o: { start: string; end: string; dryRun?: boolean; rerunFailed?: boolean; json?: boolean }) => {
      await withContext(Boolean(o.json), async (ctx) => {
        await new DagFileProcessor(ctx).refresh();
        const dag = await requireDag(ctx, dagId);
        const range = backfillRange(o.start, o.end, dag.serialized.timezone);
        let intervals: ReturnType<typeof intervalsBetween>;
        try {
          intervals = intervalsBetween(dag.serialized, range.start, range.end);
        } catch (err) {
          if (err instanceof ScheduleError) throw new UsageError(err.message, err.field === "schedule" ? "Backfill a DAG that has a schedule" : "Adjust --start and --end");
          throw err;
        }
        const say = (line: string) => { if (!o.json) process.stderr.write(`${line}\n`); };
        const plan: Array<{ runId: string; logicalDate: string; action: "create" | "skip" | "rerun"; state: string | null }> = [];
        for (const iv of intervals) {
          const existing = await ctx.store.getRun(runIdFor("scheduled", dagId, iv.logicalDate)) ?? await ctx.store.getRun(runIdFor("backfill", dagId, iv.logicalDate))
            ?? await ctx.store.getRun(runIdFor("manual", dagId, iv.logicalDate));
          if (!existing) plan.push({ runId: runIdFor("backfill", dagId, iv.logicalDate), logicalDate: iv.logicalDate, action: "create", state: null });
          else plan.push({ runId: existing.runId, logicalDate: iv.logicalDate, action: o.rerunFailed && existing.state === "failed" ? "rerun" : "skip", state: existing.state });
        }
        const count = (a: string) => plan.filter((p) => p.action === a).length;
        say(`backfill of ${dagId} from ${o.start} to ${o.end}: ${plural(plan.length, "interval")} — ${count("create")} to create, ${count("rerun")} to run again, ${count("skip")} existing kept`);
        for (const p of plan) if (p.action === "skip") say(`  skipping ${p.runId}: it exists (${p.state})${p.state === "failed" ? "; --rerun-failed runs it again" : ""}`);
        if (o.dryRun) {
          if (o.json) printJson({ dagId, dryRun: true, runs: plan });
          else printTable(plan.map((p) => ({ runId: p.runId, logicalDate: p.logicalDate, action: p.action, state: p.state ?? "" })), ["runId", "logicalDate", "action", "state"]);
          return EXIT_CODES.ok;
        }
        const byDate = new Map(intervals.map((iv) => [iv.logicalDate, iv]));
        for (const p of plan) {
          const iv = byDate.get(p.logicalDate);
          if (p.action === "create" && iv) {
            await ctx.store.createRun({
              runId: p.runId, dagId, runType: "backfill", logicalDate: iv.logicalDate, dataIntervalStart: iv.dataIntervalStart,
              dataIntervalEnd: iv.dataIntervalEnd, conf: {}, params: resolveParams(dag.serialized, {}), versionHash: dag.versionHash,
              tasks: runTasks(dag.serialized), maxActiveTasks: dag.serialized.maxActiveTasks ?? null,
            });
          } else if (p.action === "rerun") {
            await clearTaskInstances(ctx, p.runId, [], { onlyFailed: true });
          }
        }
        const planned = (a: string) => plan.filter((p) => p.action === a).map((p) => p.runId);
        await auditCli(ctx, { action: "backfill", dagId, details: { start: o.start, end: o.end, created: planned("create"), rerun: planned("rerun") } });
        // Without a running scheduler the backfill drives its runs itself — only them: it must not schedule or
        // run anything else of the project.
        const own = (await ctx.store.leaseHolder("scheduler")) ? null : await startOrchestrator({ ...ctx }, { parse: false, scheduler: true, executor: true, api: false }, { scheduler: { dagIds: [dagId], createRuns: false } });
        const finished: DagRun[] = [];
        try {
          for (const p of plan) {
            const run = await waitForRun(ctx, p.runId);
            finished.push(run);
            say(`  [${finished.length}/${plan.length}] ${run.runId}: ${run.state}`);
          }
        } finally {
          if (own) await stopKeepingStore(own);
        }
        const ids = (a: string) => plan.filter((p) => p.action === a).map((p) => p.runId);
        const summary = { dagId, runs: finished.map((r) => ({ runId: r.runId, logicalDate: r.logicalDate, state: r.state })), created: ids("create"), skipped: ids("skip"), rerun: ids("rerun") };
        if (o.json) printJson(summary);
        else printTable(summary.runs, ["runId", "logicalDate", "state"]);
        return finished.every((r) => r.state === "success") ? EXIT_CODES.ok : EXIT_CODES.failed;
      });
    });

  return dags;
}

async function stopKeepingStore(o: { scheduler: { stop(): Promise<void> } | null; executor: { stop(): Promise<void> } | null }): Promise<void> {
  await o.scheduler?.stop();
  await o.executor?.stop();
}

/** The instants of a backfill's --start and --end: dates in the DAG's zone, a date-only end covering its whole day. */
export function backfillRange(startText: string, endText: string, timezone: string): { start: Date; end: Date } {
  const start = parseZonedDate(startText, timezone);
  let end = parseZonedDate(endText, timezone);
  if (start === undefined) throw new UsageError(`--start "${startText}" is not a date`, "Use ISO 8601, e.g. 2026-01-01 or 2026-01-01T06:00");
  if (end === undefined) throw new UsageError(`--end "${endText}" is not a date`, "Use ISO 8601, e.g. 2026-01-31 or 2026-01-31T06:00");
  // "--end 2026-11-22" includes the runs of that day (06:00 too), as the help says.
  if (/^\d{4}-\d{2}-\d{2}$/.test(endText.trim())) {
    const [y, m, d] = endText.trim().split("-").map(Number) as [number, number, number];
    const next = new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
    end = (parseZonedDate(next, timezone) ?? end) - 1;
  }
  if (end < start) throw new UsageError("--end is before --start", "Swap the dates");
  return { start: new Date(start), end: new Date(end) };
}

/** A positional [date] as an ISO instant (a date alone is midnight UTC), or undefined. */
export function logicalDateArg(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const ms = parseZonedDate(text, "UTC");
  if (ms === undefined) throw new UsageError(`"${text}" is not a date`, "Use ISO 8601, e.g. 2026-01-01 or 2026-01-01T06:00:00Z");
  return new Date(ms).toISOString();
}
