/**
 * `airlock dags test`: one run of a DAG driven to completion by this process alone — no scheduler service needed,
 * and a running standalone on the same store leaves it alone (run type "test", private queue).
 */
import { randomUUID } from "node:crypto";
import type { AirlockContext } from "../core/context.js";
import { runTasks } from "../core/actions.js";
import { knownSecretsMasker } from "../core/connections.js";
import { NotFoundError } from "../core/errors.js";
import { resolveParams } from "../core/params.js";
import { DagFileProcessor } from "../dagfiles/processor.js";
import { loadRouting, waitReason } from "../fleet/routing.js";
import { Executor } from "../executor/executor.js";
import { runCallbacks } from "../executor/callbacks.js";
import { ensureEnvironment } from "../executor/backends.js";
import { evaluateRun } from "../scheduler/run-evaluator.js";
import type { BackendName } from "../sdk/types.js";
import type { DagRun, TaskInstance } from "../store/types.js";
import { ranReused } from "../store/ops/reused.js";

/** Summary of a run as printed by `dags test --json`, `dags trigger --wait --json` and `tasks states --json`. */
export interface RunSummary {
  dagId: string;
  runId: string;
  state: string;
  /** One entry per task instance: a mapped task has one per element, in map-index order, each with its `mapIndex`. */
  tasks: Array<{ taskId: string; mapIndex?: number; state: string; tryNumber: number; isolation: string | null;
    /** Present (true) only when the latest try ran in a long-lived runner shared with other tries (`reuse: true`). */
    reused?: true; xcom: unknown; waitReason?: string }>;
}

/** Builds the summary of a run from the store. */
export async function summarizeRun(ctx: AirlockContext, run: DagRun): Promise<RunSummary> {
  const version = await ctx.store.getDagVersion(run.versionHash);
  const order = version?.serialized.order ?? [];
  const tis = await ctx.store.listTaskInstances(run.runId);
  tis.sort((a, b) => order.indexOf(a.taskId) - order.indexOf(b.taskId) || a.mapIndex - b.mapIndex);
  const xcoms = await ctx.store.getXcoms(run.runId, [...new Set(tis.filter((t) => t.mapIndex < 0).map((t) => t.taskId))]);
  const mappedXcoms = new Map<string, Map<number, string>>();
  for (const id of new Set(tis.filter((t) => t.mapIndex >= 0).map((t) => t.taskId))) mappedXcoms.set(id, await ctx.store.listInstanceXcoms(run.runId, id));
  const xcomOf = (t: TaskInstance) => (t.mapIndex >= 0 ? mappedXcoms.get(t.taskId)?.get(t.mapIndex) : xcoms.get(t.taskId));
  // XComs keep their values for downstream tasks; only what is shown to people is masked.
  const masker = await knownSecretsMasker(ctx);
  const routing = tis.some((t) => t.state === "queued") ? await loadRouting(ctx) : null;
  const reused = await ctx.store.listReusedTries(run.runId);
  return {
    dagId: run.dagId,
    runId: run.runId,
    state: run.state,
    tasks: tis.map((t) => ({
      taskId: t.taskId, ...(t.mapIndex >= 0 ? { mapIndex: t.mapIndex } : {}), state: t.state, tryNumber: t.tryNumber, isolation: t.isolation,
      ...(ranReused(reused, t) ? { reused: true as const } : {}),
      xcom: xcomOf(t) !== undefined ? maskedJson(masker, xcomOf(t) as string) : null,
      // Only a task that waits for a worker says why; the other fields are the fixed summary.
      ...withReason(routing ? waitReason(routing, t) : null),
    })),
  };
}

const withReason = (reason: string | null): { waitReason?: string } => (reason ? { waitReason: reason } : {});

function maskedJson(masker: { mask(s: string): string }, json: string): unknown {
  const masked = masker.mask(json);
  try {
    return JSON.parse(masked) as unknown;
  } catch {
    // A secret matched inside a number or literal: show the masked text.
    return masked;
  }
}

/** Options of a test run. */
export interface TestRunOptions {
  conf?: unknown;
  backend?: BackendName | null;
  /** Called when a task instance reaches a final state. */
  onTaskEnd?: (ti: TaskInstance) => void | Promise<void>;
  /** Called once the run exists, before any task starts (e.g. to follow its logs through `ctx`, the run's context). */
  onRunCreated?: (runId: string, ctx: AirlockContext) => void;
  /** Logical date of the run (ISO 8601). @default now */
  logicalDate?: string;
  /** Run only this task, ignoring its dependencies: every other task is set to success first (`tasks test`). */
  onlyTask?: string;
  /** Parse the DAG folder first. @default true */
  refresh?: boolean;
}

/** Parses the DAG folder, runs one test run of `dagId` to the end, and returns its summary. */
export async function testDag(ctx: AirlockContext, dagId: string, options: TestRunOptions = {}): Promise<RunSummary> {
  if (options.refresh !== false) await new DagFileProcessor(ctx).refresh();
  const dag = await ctx.store.getDag(dagId);
  if (!dag || !dag.isActive) {
    const errors = await ctx.store.listImportErrors();
    const hint = errors.length > 0 ? `Fix the import errors first:\n${errors.map((e) => `  ${e.fileloc}: ${e.message.split("\n")[0]}`).join("\n")}` : "List DAGs with `airlock dags list`";
    throw new NotFoundError("DAG", dagId, hint);
  }
  const params = resolveParams(dag.serialized, options.conf);
  const now = options.logicalDate ?? new Date().toISOString();
  if (options.onlyTask !== undefined && !dag.serialized.tasks[options.onlyTask]) {
    throw new NotFoundError("Task", options.onlyTask, `Tasks of DAG "${dagId}": ${dag.serialized.order.slice(0, 20).join(", ")}`);
  }
  const runId = `test__${now}__${randomUUID().slice(0, 6)}`;
  const queue = `test:${process.pid}:${randomUUID().slice(0, 8)}`;
  await ctx.store.createRun({
    runId, dagId, runType: "test", logicalDate: now, dataIntervalStart: now, dataIntervalEnd: now,
    conf: (options.conf ?? {}) as Record<string, unknown>, params, versionHash: dag.versionHash,
    tasks: runTasks(dag.serialized).map((t) => ({ ...t, queue })),
  });
  await ctx.store.setRunState(runId, "running");
  if (options.onlyTask !== undefined) {
    const others = dag.serialized.order.filter((id) => id !== options.onlyTask);
    await ctx.store.transitionTasks(runId, others.map((taskId) => ({ taskId, from: ["none" as const], patch: { state: "success" as const } })));
  }
  options.onRunCreated?.(runId, ctx);
  const reported = new Set<string>();
  const pendingCallbacks: Array<Promise<unknown>> = [];
  let wake: () => void = () => undefined;
  let pending = false;
  const executor = new Executor(ctx, { queues: [queue], adopt: false, onFinished: () => {
    pending = true;
    wake();
  } });
  await executor.start();
  try {
    for (;;) {
      pending = false;
      const run = (await ctx.store.getRun(runId)) as DagRun;
      const r = await evaluateRun(ctx, run, dag.serialized, { backendOverride: options.backend ?? null, paused: false, queueOverride: queue });
      if (r.queued > 0) executor.wake();
      // Callbacks (the DAG's when it ended, tasks' onSlaMiss) run in their own processes; the test waits for them.
      const callbacks = Promise.all(r.callbacks.map((request) => runCallbacks({
        ctx, backend: (name) => executor.backends.get(name), environment: (name, log) => ensureEnvironment(ctx.config, name, log),
      }, request)));
      const order = dag.serialized.order;
      const tis = (await ctx.store.listTaskInstances(runId)).sort((a, b) => order.indexOf(a.taskId) - order.indexOf(b.taskId) || a.mapIndex - b.mapIndex);
      for (const ti of tis) {
        const key = `${ti.taskId}[${ti.mapIndex}]`;
        if (["success", "failed", "skipped", "upstream_failed"].includes(ti.state) && !reported.has(key)) {
          reported.add(key);
          await options.onTaskEnd?.(ti);
        }
      }
      pendingCallbacks.push(callbacks);
      if (r.ended) break;
      if (pending) continue;
      const waitMs = r.nextRetryAt ? Math.max(10, Math.min(1000, r.nextRetryAt - Date.now())) : 1000;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  } finally {
    await Promise.all(pendingCallbacks);
    await executor.stop(0);
  }
  return summarizeRun(ctx, (await ctx.store.getRun(runId)) as DagRun);
}
