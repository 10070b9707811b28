/**
 * The scheduler: creates runs from timetables, starts queued runs within maxActiveRuns, and evaluates running runs.
 * Evaluation is event-driven — `runChanged(runId)` evaluates that run at once — with a periodic sweep as a safety
 * net and to pick up changes made by other processes (through the store's change feed).
 *
 * Several schedulers may share a store: one leads, holding the "scheduler" lease, renewed on its own timer so that a
 * long pass never lets it lapse. Every write that creates runs or queues tasks carries the lease's epoch and is
 * refused once a newer leader took over, so a paused or partitioned old leader cannot double anything up.
 */
import os from "node:os";
import { randomUUID } from "node:crypto";
import type { AirlockContext } from "../core/context.js";
import { sweepOrphans } from "../fleet/orphans.js";
import { loadRouting, type Routing } from "../fleet/routing.js";
import { LeaseLostError } from "../store/ops/fence.js";
import type { LeaseFence } from "../store/store.js";
import { runIdFor, runTasks } from "../core/actions.js";
import { resolveParams } from "../core/params.js";
import type { DagRecord, DagRun } from "../store/types.js";
import { evaluateRun } from "./run-evaluator.js";
import { DagCallbackRunner } from "../executor/callbacks.js";
import { createDatasetRun } from "./dataset-trigger.js";
import { nextDueAt, nextRunInterval } from "./timetable.js";

/** Lifecycle of the scheduler. */
export type SchedulerState = "INITIALIZED" | "RUNNING" | "STOPPING" | "STOPPED";

/** Options of the scheduler. */
export interface SchedulerOptions {
  /** Called when tasks were queued (the local executor claims at once). */
  onQueued?: () => void;
  /** Sweep interval. @default config.scheduler.pollIntervalMs */
  pollMs?: number;
  /** Start and evaluate only these DAGs' runs (`dags backfill` drives its own DAG). @default every DAG */
  dagIds?: string[];
  /** Create runs from timetables. @default true */
  createRuns?: boolean;
}

const LEASE = "scheduler";
/** An evaluation slower than this is not repeated back to back (see runChanged). */
const EXPENSIVE_EVALUATION_MS = 20;

/** Creates and advances runs. */
export class Scheduler {
  state: SchedulerState = "INITIALIZED";
  private readonly holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly evaluating = new Map<string, Promise<void>>();
  /** Runs asked about again while being evaluated: the tasks concerned, or null for the whole run. */
  private readonly again = new Map<string, Set<string> | null>();
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  /** The lease this scheduler holds, or null while it stands by. */
  private fence: LeaseFence | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> = Promise.resolve();
  private lastRenewed = 0;
  private lastSweep = 0;
  /** Routes and queue liveness, reloaded every pass so that route changes take effect at once. */
  private routing: Routing | null = null;
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** Run starts happen one at a time, so that two of them cannot both take a DAG's last free run slot. */
  private starting: Promise<void> = Promise.resolve();
  private readonly callbacks: DagCallbackRunner;

  constructor(private readonly ctx: AirlockContext, private readonly options: SchedulerOptions = {}) {
    this.callbacks = new DagCallbackRunner(ctx);
  }

  /** Starts the loop and the lease timer. Idempotent. */
  async start(): Promise<void> {
    if (this.state !== "INITIALIZED") return;
    this.state = "RUNNING";
    await this.renewLease();
    const every = Math.max(100, Math.floor(this.ctx.config.scheduler.leaseMs / 3));
    this.leaseTimer = setInterval(() => {
      this.renewing = this.renewing.then(() => this.renewLease());
    }, every);
    this.loop = this.run();
  }

  /** Holds the scheduler lease: only the leader acts on other processes' changes. */
  get isLeader(): boolean {
    return this.fence !== null && this.state === "RUNNING";
  }

  /** Takes or renews the lease; a lease not renewed in time is given up locally before anyone else can take it. */
  private async renewLease(): Promise<void> {
    const { leaseMs } = this.ctx.config.scheduler;
    const asked = Date.now();
    try {
      const epoch = await this.ctx.store.takeLease(LEASE, this.holder, leaseMs);
      const was = this.fence;
      this.fence = epoch === null ? null : { name: LEASE, holder: this.holder, epoch };
      if (epoch !== null) this.lastRenewed = asked;
      if (!was && this.fence) this.wakeUp?.();
      if (was && !this.fence) process.stderr.write(`airlock scheduler: another scheduler took the lead; standing by\n`);
    } catch (err) {
      if (this.fence && Date.now() - this.lastRenewed >= leaseMs) {
        process.stderr.write(`airlock scheduler: could not renew the lease (${(err as Error).message}); standing by\n`);
        this.fence = null;
      }
    }
  }

  /** Stops the loop and releases the scheduler lease. Idempotent. */
  async stop(): Promise<void> {
    if (this.state !== "RUNNING") {
      this.state = "STOPPED";
      return;
    }
    this.state = "STOPPING";
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.wakeUp?.();
    await this.loop;
    await this.renewing;
    await Promise.allSettled([...this.evaluating.values()]);
    await this.callbacks.stop();
    if (this.fence) await this.ctx.store.releaseLease(LEASE, this.holder).catch(() => undefined);
    this.fence = null;
    this.state = "STOPPED";
  }

  /** Wakes the loop (a run was triggered, a DAG unpaused). */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * A run was queued (by another process, or this one): start it at once when this scheduler leads, no older run of
   * its DAG is waiting and the DAG has a free run slot, without the full pass over every DAG's timetable that a
   * wake-up costs. Anything less simple is left to that pass.
   */
  startRun(runId: string): Promise<void> {
    return this.serialStart(async () => {
      if (this.state !== "RUNNING") return;
      if (!this.isLeader) return this.wake();
      const { store } = this.ctx;
      const run = await store.getRun(runId);
      if (!run || run.state !== "queued" || run.runType === "test") return;
      if (this.options.dagIds && !this.options.dagIds.includes(run.dagId)) return;
      const dag = await store.getDag(run.dagId);
      if (!dag || (dag.isPaused && run.runType !== "backfill")) return;
      const oldest = (await store.listRuns({ dagId: run.dagId, states: ["queued"], order: "asc", limit: 1 })).runs[0];
      if (oldest && oldest.runId !== runId) return this.wake();
      if ((await store.countActiveRuns(run.dagId)) >= dag.serialized.maxActiveRuns) return;
      if (await store.setRunState(runId, "running", ["queued"])) void this.runChanged(runId);
    });
  }

  private serialStart(fn: () => Promise<void>): Promise<void> {
    const next = this.starting.then(fn).catch((err: Error) => {
      process.stderr.write(`airlock scheduler: starting a run failed (the next pass retries): ${err.message}\n`);
    });
    this.starting = next;
    return next;
  }

  /**
   * A task of `runId` changed: evaluate that run now. Calls for one run never overlap. With `tasks` (the tasks whose
   * tries ended), only they and what follows them are evaluated; without, the whole run.
   */
  runChanged(runId: string, tasks?: readonly string[]): Promise<void> {
    // After stop() the store may be closing: the next scheduler to start evaluates the run.
    if (this.state !== "RUNNING") return Promise.resolve();
    const current = this.evaluating.get(runId);
    if (current) {
      // Asked again while evaluating: once more afterwards, for every task asked about meanwhile (or the whole run).
      const pending = this.again.get(runId);
      if (!this.again.has(runId)) this.again.set(runId, tasks ? new Set(tasks) : null);
      else if (pending && tasks) for (const t of tasks) pending.add(t);
      else this.again.set(runId, null);
      return current;
    }
    const p = (async () => {
      let hint: Set<string> | null = tasks ? new Set(tasks) : null;
      for (;;) {
        const started = performance.now();
        await this.evaluate(runId, hint);
        if (!this.again.has(runId)) break;
        // A run whose evaluation is costly (thousands of mapped instances, each finish asking for one) is evaluated
        // again after a pause of twice that cost, so evaluations take at most a third of the time; cheap ones at once.
        const took = performance.now() - started;
        if (took > EXPENSIVE_EVALUATION_MS && this.state === "RUNNING") await new Promise((r) => setTimeout(r, Math.min(2 * took, 2000)));
        hint = this.again.get(runId) ?? null;
        this.again.delete(runId);
      }
    })().catch((err) => {
      if (err instanceof LeaseLostError) this.fence = null;
      else process.stderr.write(`airlock scheduler: evaluating ${runId} failed (will retry): ${(err as Error).message}\n`);
    }).finally(() => {
      this.evaluating.delete(runId);
      this.again.delete(runId);
    });
    this.evaluating.set(runId, p);
    return p;
  }

  private async evaluate(runId: string, changed: ReadonlySet<string> | null): Promise<void> {
    // Only the leader evaluates: a standby's writes would be refused anyway.
    const fence = this.fence;
    if (!fence) return;
    const run = await this.ctx.store.getRun(runId);
    if (!run || run.state !== "running" || run.runType === "test") return;
    if (this.options.dagIds && !this.options.dagIds.includes(run.dagId)) return;
    const [version, dag] = await Promise.all([this.ctx.store.getDagVersion(run.versionHash), this.ctx.store.getDag(run.dagId)]);
    if (!version) return;
    // A backfill is an explicit request for past intervals: pausing the DAG stops its schedule, not a backfill.
    this.routing ??= await loadRouting(this.ctx);
    const r = await evaluateRun(this.ctx, run, version.serialized, { backendOverride: null, paused: (dag?.isPaused ?? false) && run.runType !== "backfill", fence, routing: this.routing, changed: changed ? [...changed] : undefined });
    if (r.queued > 0) this.options.onQueued?.();
    // Callbacks run in their own processes; evaluation does not wait for them.
    for (const request of r.callbacks) void this.callbacks.run(request);
    if (r.nextRetryAt !== null) this.evaluateAt(runId, r.nextRetryAt);
  }

  /** Evaluates a run again when a retry or a sensor's next poke is due, rather than at the next sweep. */
  private evaluateAt(runId: string, at: number): void {
    const existing = this.timers.get(runId);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(runId);
      void this.runChanged(runId);
    }, Math.max(0, at - Date.now()) + 5);
    timer.unref();
    this.timers.set(runId, { at, timer });
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? this.ctx.config.scheduler.pollIntervalMs;
    while (this.state === "RUNNING") {
      try {
        await this.tick();
      } catch (err) {
        if (err instanceof LeaseLostError) this.fence = null;
        else process.stderr.write(`airlock scheduler: ${(err as Error).message} (will retry)\n`);
      }
      if (this.state !== "RUNNING") break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  /** One pass (leader only): lost workers, new runs, run starts, and evaluation of running runs. */
  async tick(): Promise<void> {
    const { store } = this.ctx;
    const fence = this.fence;
    if (!fence) return;
    this.routing = await loadRouting(this.ctx);
    if (Date.now() - this.lastSweep >= this.ctx.config.executor.heartbeatMs) {
      // Workers sweep too; the leader's sweep covers a fleet whose every worker is gone.
      this.lastSweep = Date.now();
      await sweepOrphans(this.ctx, null, (runId) => void this.runChanged(runId));
    }
    const { dags } = await store.listDags({ limit: 1000 });
    for (let offset = 1000, more = dags.length === 1000; more; offset += 1000) {
      const page = await store.listDags({ limit: 1000, offset });
      dags.push(...page.dags);
      more = page.dags.length === 1000;
    }
    const only = this.options.dagIds ? new Set(this.options.dagIds) : null;
    const mine = only ? dags.filter((d) => only.has(d.dagId)) : dags;
    const byId = new Map(mine.map((d) => [d.dagId, d]));
    for (const d of mine) {
      if (!d.isPaused && this.options.createRuns !== false && d.serialized.scheduleDatasets?.length) {
        await createDatasetRun(this.ctx, d).catch((err: Error) => process.stderr.write(`airlock scheduler: dataset-triggered run of DAG "${d.dagId}" failed (will retry): ${err.message}\n`));
      }
      if (d.isPaused || !d.serialized.schedule || this.options.createRuns === false) continue;
      // One DAG whose schedule cannot be evaluated must not stop the others.
      await this.createDueRuns(d, fence).catch((err: Error) => {
        if (err instanceof LeaseLostError) throw err;
        process.stderr.write(`airlock scheduler: creating runs of DAG "${d.dagId}" failed (will retry): ${err.message}\n`);
      });
    }
    await this.serialStart(() => this.startQueuedRuns(byId, fence));
    // The sweep: every running run is evaluated, which also covers tasks finished by workers in other processes
    // and retries whose delay has passed. Within this process, finished tasks call runChanged() at once.
    const { runs } = await store.listRuns({ states: ["running"], limit: 1000 });
    await Promise.all(runs.filter((r) => !only || only.has(r.dagId)).map((r) => this.runChanged(r.runId)));
  }

  private async createDueRuns(d: DagRecord, fence: LeaseFence): Promise<void> {
    const { store } = this.ctx;
    const s = d.serialized;
    for (let created = 0; created < s.maxActiveRuns; created++) {
      const active = await store.listRuns({ dagId: d.dagId, states: ["queued", "running"], limit: 1 });
      if (active.total >= s.maxActiveRuns) break;
      const latest = await store.latestScheduledRun(d.dagId);
      const next = nextRunInterval(s, latest?.logicalDate ?? null, new Date());
      if (!next) break;
      const ok = await store.createRun({
        runId: runIdFor("scheduled", d.dagId, next.logicalDate), dagId: d.dagId, runType: "scheduled", logicalDate: next.logicalDate,
        dataIntervalStart: next.dataIntervalStart, dataIntervalEnd: next.dataIntervalEnd, conf: {},
        params: resolveParams(s, {}), versionHash: d.versionHash, tasks: runTasks(s), maxActiveTasks: s.maxActiveTasks ?? null,
      }, fence);
      if (!ok) break;
    }
    const latest = await store.latestScheduledRun(d.dagId);
    const due = nextDueAt(s, latest?.logicalDate ?? null, new Date());
    // The next run's logical date is that of the interval due at `due` (evaluating "the end of time" instead made
    // catchup: false look for an interval in the year 275760, which the cron library rejects).
    const nextLogical = due ? nextRunInterval(s, latest?.logicalDate ?? null, due)?.logicalDate ?? null : null;
    if (nextLogical !== d.nextLogicalDate) await store.setNextLogicalDate(d.dagId, nextLogical);
  }

  private async startQueuedRuns(byId: Map<string, DagRecord>, fence: LeaseFence): Promise<void> {
    const { store } = this.ctx;
    const { runs } = await store.listRuns({ states: ["queued"], order: "asc", limit: 1000 });
    const activeCount = new Map<string, number>();
    for (const run of runs) {
      if (run.runType === "test") continue;
      const dag = byId.get(run.dagId);
      if (!dag || (dag.isPaused && run.runType !== "backfill")) continue;
      const n = activeCount.get(run.dagId) ?? (await store.countActiveRuns(run.dagId));
      if (n >= dag.serialized.maxActiveRuns) continue;
      if (await store.setRunState(run.runId, "running", ["queued"], fence)) {
        activeCount.set(run.dagId, n + 1);
        await this.runChanged(run.runId);
      }
    }
  }
}

/** Runs of a DAG in logical-date order, for tests and the CLI. */
export type { DagRun };
