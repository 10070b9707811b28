/**
 * The orchestrator's side of `triggerDag`: renders the conf with what the task itself could read (its run, its
 * upstream XComs, its grants), creates the other DAG's run, and waits for that run's end when asked. No task process
 * runs and no slot of the other DAG is taken; the triggered run is an ordinary manual run.
 */
import { createHash } from "node:crypto";
import { parseDuration } from "../sdk/duration.js";
import type { SerializedDag, SerializedTask } from "../sdk/serialized.js";
import type { AirlockContext } from "../core/context.js";
import { triggerDagRun } from "../core/actions.js";
import { UserError } from "../core/errors.js";
import { renderedArgs } from "../runner/context.js";
import type { DagRun } from "../store/types.js";
import type { TryResult } from "./outcome.js";
import { buildPayload } from "./payload.js";

/** What the trigger needs of its try. */
export interface TriggerTry {
  run: DagRun;
  dag: SerializedDag;
  task: SerializedTask;
  bundlePath: string;
  tryNumber: number;
  scratchDir: string;
}

/**
 * The id of the run a try triggers: the same for the same try (an adopted try after a restart finds its run again
 * instead of starting a second one), new for a retry or after the task is cleared.
 */
export function triggeredRunId(dagId: string, parent: { runId: string; taskId: string; tryNumber: number }): string {
  const digest = createHash("sha256").update(`${parent.runId}\n${parent.taskId}\n${parent.tryNumber}`).digest("hex").slice(0, 16);
  return `triggered__${dagId}__${digest}`;
}

/** Triggers the run and, with `wait`, polls it until it ends; `alive()` turning false (marked/cleared) stops the wait. */
export async function triggerOtherDag(ctx: AirlockContext, t: TriggerTry, log: (line: string) => void, alive: () => Promise<boolean>): Promise<TryResult> {
  const a = t.task.args as { dagId: string; conf?: Record<string, unknown>; wait?: boolean; pokeInterval?: string | number };
  const { payload } = await buildPayload(ctx, { run: t.run, dag: t.dag, task: t.task, bundlePath: t.bundlePath, tryNumber: t.tryNumber, scratchDir: t.scratchDir, environment: null });
  const conf = (await renderedArgs(payload)).conf as Record<string, unknown> | undefined;
  const runId = triggeredRunId(a.dagId, { runId: t.run.runId, taskId: t.task.id, tryNumber: t.tryNumber });
  let target = await ctx.store.getRun(runId);
  if (target) {
    log(`[airlock] run ${runId} of ${a.dagId} was already triggered by this try: following it`);
  } else {
    try {
      target = await triggerDagRun(ctx, a.dagId, { conf: conf ?? {}, runId });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      return { kind: "failed", error: { type: "TriggerFailed", message: `could not trigger DAG "${a.dagId}": ${err.message}. ${err.hint}` } };
    }
    log(`[airlock] triggered run ${runId} of ${a.dagId} with conf ${JSON.stringify(conf ?? {})}`);
  }
  const outcome = (state: string) => ({ kind: "success" as const, xcomJson: JSON.stringify({ dagId: a.dagId, runId, state }), branch: null });
  if (!a.wait) return outcome(target.state);
  const interval = parseDuration(a.pokeInterval ?? "5s", "pokeInterval");
  const deadline = t.task.executionTimeoutMs === null ? Infinity : Date.now() + t.task.executionTimeoutMs;
  for (let last = ""; ; ) {
    const run = await ctx.store.getRun(runId);
    const state = run?.state ?? "deleted";
    if (state !== last) log(`[airlock] waiting for run ${runId} of ${a.dagId}: ${state}`);
    last = state;
    if (state === "success") return outcome(state);
    if (state === "failed" || state === "deleted") {
      return { kind: "failed", error: { type: "TriggeredRunFailed", message: `the triggered run ${runId} of DAG "${a.dagId}" ${state === "failed" ? "failed" : "was deleted"}; see \`airlock tasks states ${a.dagId} ${runId}\`` } };
    }
    if (Date.now() >= deadline) {
      return { kind: "failed", error: { type: "TaskTimeout", message: `execution timeout of ${(t.task.executionTimeoutMs ?? 0) / 1000} s exceeded while waiting for run ${runId} of DAG "${a.dagId}" (it goes on)` } };
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(10, deadline - Date.now()))));
    if (!(await alive())) return { kind: "failed", error: { type: "TaskKilled", message: "the task was marked or cleared while it waited for the triggered run" } };
  }
}
