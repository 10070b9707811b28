/**
 * Composes the orchestrator's parts in one process: DAG-file processing, scheduler, executor and API.
 * `airlock standalone` starts all of them; `scheduler`, `worker` and `api` start one each for scale.
 */
import type { AirlockContext } from "../core/context.js";
import type { ActionContext } from "../core/actions.js";
import { DagFileProcessor } from "../dagfiles/processor.js";
import { Executor } from "../executor/executor.js";
import { Scheduler, type SchedulerOptions } from "../scheduler/scheduler.js";
import { ChangeWatcher } from "./change-watcher.js";

/** Which parts to run. */
export interface Parts {
  parse: boolean;
  scheduler: boolean;
  executor: boolean;
  api: boolean;
}

/** A running orchestrator. */
export interface Orchestrator {
  apiUrl: string | null;
  processor: DagFileProcessor | null;
  scheduler: Scheduler | null;
  executor: Executor | null;
  /** Stops every part, releasing what it holds. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the requested parts; the returned object stops them. */
export async function startOrchestrator(ctx: AirlockContext, parts: Parts, options: {
  port?: number; host?: string; queues?: string[];
  /** Restricts the scheduler (e.g. to one DAG's backfill runs, creating none from timetables). */
  scheduler?: Pick<SchedulerOptions, "dagIds" | "createRuns">;
} = {}): Promise<Orchestrator> {
  const releasers: Array<() => Promise<void>> = [];
  let scheduler: Scheduler | null = null;
  let executor: Executor | null = null;
  let processor: DagFileProcessor | null = null;
  const actions: ActionContext = { ...ctx, wake: () => scheduler?.wake() };
  if (parts.executor) {
    executor = new Executor(ctx, { queues: options.queues, onFinished: (runId, taskId) => void scheduler?.runChanged(runId, taskId === undefined ? undefined : [taskId]) });
  }
  if (parts.scheduler) scheduler = new Scheduler(ctx, { ...options.scheduler, onQueued: () => executor?.wake() });
  if (executor) {
    await executor.start();
    const e = executor;
    releasers.push(() => e.stop());
  }
  if (scheduler) {
    await scheduler.start();
    const s = scheduler;
    releasers.push(() => s.stop());
  }
  if (scheduler || executor) {
    // Writes of other processes (a CLI trigger, a worker elsewhere) start work now rather than at the next sweep.
    const s = scheduler;
    const e = executor;
    const watcher = new ChangeWatcher(ctx.store, {
      schedule: s ? () => s.wake() : undefined,
      runQueued: s ? (runId) => void s.startRun(runId) : undefined,
      runChanged: s ? (runId, tasks) => {
        if (s.isLeader) void s.runChanged(runId, tasks);
      } : undefined,
      claim: e ? () => e.wake() : undefined,
      // This process's executor already had this process's scheduler evaluate the runs of the tries it ended.
      handledHere: e && s ? (c) => e.endedHere(c) : undefined,
    });
    await watcher.start();
    releasers.push(() => watcher.stop());
  }
  let apiUrl: string | null = null;
  if (parts.api) {
    const { createApiServer } = await import("../api/server.js");
    try {
      const server = await createApiServer(actions, { host: options.host ?? ctx.config.api.host, port: options.port ?? ctx.config.api.port });
      apiUrl = server.url;
      releasers.push(() => server.close());
    } catch (err) {
      // A port that is taken must not leave a headless scheduler and executor running.
      for (const release of releasers.reverse()) await release().catch(() => undefined);
      throw err;
    }
  }
  if (parts.parse) {
    processor = new DagFileProcessor(ctx);
    // Everything else is already running: a DAG file that is slow to import delays only its own DAGs.
    try {
      // Slow files go on parsing in the background: no file holds up the start, the next pass or other files.
      await processor.refresh({ waitForSlow: false });
    } catch (err) {
      for (const release of releasers.reverse()) await release().catch(() => undefined);
      throw err;
    }
    const proc = processor;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const again = () => {
      timer = setTimeout(async () => {
        await proc.refresh({ waitForSlow: false }).catch((err: Error) => process.stderr.write(`airlock: parsing DAG files failed: ${err.message}\n`));
        if (!stopped) again();
      }, ctx.config.scheduler.parseIntervalMs);
    };
    again();
    releasers.push(async () => {
      stopped = true;
      clearTimeout(timer);
      await proc.close();
    });
  }
  let stopping: Promise<void> | null = null;
  return {
    apiUrl, processor, scheduler, executor,
    stop() {
      stopping ??= (async () => {
        // Reverse order: stop taking requests, then scheduling, then executing.
        for (const release of releasers.reverse()) await release().catch(() => undefined);
        await ctx.store.close();
      })();
      return stopping;
    },
  };
}
