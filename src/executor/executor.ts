/**
 * The executor: a registered worker of the fleet. It claims queued task instances of its queues (each by exactly
 * one worker), supervises their tries, and adopts tries of its host whose worker is lost or stopped (a restart
 * after a crash or a Ctrl-C). Stopping it never fails a try: running tries are left to the next worker of the host.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import { randomUUID } from "node:crypto";
import type { AirlockContext } from "../core/context.js";
import { airlockVersion } from "../core/install.js";
import { logPath } from "../core/paths.js";
import { WorkerMembership } from "../fleet/membership.js";
import { sweepOrphans } from "../fleet/orphans.js";
import { BACKEND_NAMES, type BackendName } from "../sdk/types.js";
import { BackendRegistry, ensureEnvironment } from "./backends.js";
import { CompletionBatcher } from "./completions.js";
import { superviseTry, type TryTarget } from "./supervisor.js";
import { Triggerer } from "../triggers/triggerer.js";
import type { ChangeEvent } from "../store/types.js";

/** Lifecycle of an executor. */
export type ExecutorState = "INITIALIZED" | "RUNNING" | "STOPPING" | "STOPPED";

/** Options of the executor. */
export interface ExecutorOptions {
  /** Queues served. @default config.executor.queues */
  queues?: string[];
  /** Tries supervised at once. @default config.executor.parallelism */
  parallelism?: number;
  /** Called when a try's end is recorded (with its task when known: the scheduler evaluates only what follows it). */
  onFinished?: (runId: string, taskId?: string) => void;
  /** Polling interval when not woken. @default config.scheduler.pollIntervalMs */
  pollMs?: number;
  /** Adopt tries of this host whose worker is lost or stopped, and sweep for lost workers. @default true */
  adopt?: boolean;
}

/** Claims and supervises tries. */
export class Executor {
  state: ExecutorState = "INITIALIZED";
  readonly workerId: string;
  readonly hostname: string;
  readonly backends: BackendRegistry;
  private readonly membership: WorkerMembership;
  private readonly active = new Map<string, Promise<void>>();
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private dirty = true;
  private readonly shutdown = new AbortController();
  /** Try ends are written in batches when several arrive while the store is busy. */
  private readonly completions: CompletionBatcher;
  /** Evaluates deferred sensors' triggers (this worker's, and those of workers no longer live). */
  readonly triggerer: Triggerer;

  constructor(private readonly ctx: AirlockContext, private readonly options: ExecutorOptions = {}) {
    this.backends = new BackendRegistry(ctx.config);
    this.completions = new CompletionBatcher(ctx.store);
    this.hostname = ctx.config.executor.hostname;
    this.workerId = `${this.hostname}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.membership = new WorkerMembership(ctx, {
      workerId: this.workerId, hostname: this.hostname, machine: os.hostname(), pid: process.pid,
      queues: options.queues ?? ctx.config.executor.queues,
      backends: BACKEND_NAMES.filter((b) => b !== "kubernetes" && b !== "inline"), version: airlockVersion(),
    }, () => this.sweep());
    this.triggerer = new Triggerer(ctx, { owner: this.workerId, onFinished: (runId) => this.options.onFinished?.(runId) });
  }

  /** Number of tries being supervised. */
  get busy(): number {
    return this.active.size;
  }

  /** Registers the worker, adopts what its host's earlier workers left (unless told not to), then claims. Idempotent. */
  async start(): Promise<void> {
    if (this.state !== "INITIALIZED") return;
    this.state = "RUNNING";
    await this.membership.start();
    if (this.options.adopt !== false) {
      await this.sweep();
      this.startReaper();
    }
    this.triggerer.start();
    this.loop = this.run();
  }

  private sweeping: Promise<void> | null = null;

  /** Looks for lost workers; adopts their tries on this host, fails those no live worker can adopt. */
  private sweep(): Promise<void> {
    if (this.options.adopt === false || this.state !== "RUNNING") return Promise.resolve();
    this.sweeping ??= sweepOrphans(this.ctx, {
      workerId: this.workerId, hostname: this.hostname,
      adopt: (t, fence) => this.supervise({ dagId: t.dagId, runId: t.runId, taskId: t.taskId, mapIndex: t.mapIndex, tryNumber: t.tryNumber, isolation: t.isolation, fence }, { handle: t.handle }),
      supervising: (t) => this.active.has(`${t.runId}/${t.taskId}/${t.mapIndex}/${t.tryNumber}`),
    }, (runId) => this.options.onFinished?.(runId)).then(() => undefined, (err: Error) => {
      process.stderr.write(`airlock executor: looking for lost workers failed (will retry): ${err.message}
`);
    }).finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private reaper: NodeJS.Timeout | null = null;

  /**
   * Removes containers of this installation whose try is no longer running (left by a crash at the wrong moment):
   * once after adoption when an engine is reachable, then every minute while the docker backend is in use.
   */
  private startReaper(): void {
    const reap = async (always: boolean) => {
      if (this.backends.has("kubernetes")) {
        const { reapOrphanPods } = await import("../backends/kubernetes/reaper.js");
        await reapOrphanPods(this.ctx.store, this.ctx.config).catch(() => undefined);
      }
      if (!always && !this.backends.has("docker")) return;
      try {
        const { reapOrphans } = await import("../backends/docker/reaper.js");
        await reapOrphans(this.ctx.store, this.ctx.config);
      } catch {
        // No engine here, or it is unreachable: nothing to reap.
      }
    };
    const hasEngine = this.ctx.config.docker.socketPath || this.ctx.config.docker.host || existsSync("/var/run/docker.sock");
    if (hasEngine) void reap(true);
    this.reaper = setInterval(() => void reap(false), 60_000);
    this.reaper.unref();
  }

  /** Asks the loop to claim now (a task was queued). */
  wake(): void {
    this.dirty = true;
    this.wakeUp?.();
  }

  /**
   * Stops claiming, gives running tries `graceMs` to end, then leaves the rest running (their processes, sandboxes
   * and containers outlive this process) and records the worker as stopped: the next worker on this host adopts
   * them, and when none comes within executor.workerTimeoutMs they fail as "worker lost" and follow their retries.
   * Only in-process (inline) tries are stopped. Never fails a try. Idempotent.
   */
  async stop(graceMs = 0): Promise<void> {
    if (this.state === "STOPPED" || this.state === "INITIALIZED") {
      this.state = "STOPPED";
      return;
    }
    this.state = "STOPPING";
    if (this.reaper) clearInterval(this.reaper);
    this.wakeUp?.();
    await this.triggerer.stop();
    await this.loop;
    await this.sweeping;
    const all = Promise.allSettled([...this.active.values()]);
    let timer: NodeJS.Timeout | undefined;
    if (graceMs > 0) await Promise.race([all, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.shutdown.abort();
    await all;
    await this.membership.stop();
    await this.backends.close();
    this.state = "STOPPED";
  }

  /** Tries this executor ended (run, task, try), until the change feed shows their end: see endedHere(). */
  private readonly ended = new Set<string>();

  /** True (once) when `change` is the end of a try this executor recorded and reported through onFinished. */
  endedHere(change: Pick<ChangeEvent, "runId" | "taskId" | "tryNumber">): boolean {
    return this.ended.delete(`${change.runId}\u0000${change.taskId}\u0000${change.tryNumber}`);
  }

  private supervise(t: TryTarget, adopt: { handle: Record<string, unknown> | null } | null): void {
    const key = `${t.runId}/${t.taskId}/${t.mapIndex}/${t.tryNumber}`;
    const done = superviseTry({
      ctx: this.ctx,
      backend: (name) => this.backends.get(name),
      environment: (name, log) => ensureEnvironment(this.ctx.config, name, log),
      shutdown: this.shutdown.signal,
      fenced: () => this.membership.fenced,
      finishTry: async (key, outcome, fence) => {
        // Noted before the end is written: the change feed may show it before this supervisor reports it, and the
        // run must then not be evaluated twice (once for the feed, once for onFinished).
        const ended = `${key.runId}\u0000${key.taskId}\u0000${key.tryNumber}`;
        if (this.options.onFinished) {
          // Bounded: ends whose change this process never reads (no watcher) must not pile up.
          if (this.ended.size >= 10_000) this.ended.clear();
          this.ended.add(ended);
        }
        const ok = await this.completions.finish(key, outcome, fence).catch((err: unknown) => {
          this.ended.delete(ended);
          throw err;
        });
        if (!ok) this.ended.delete(ended);
        return ok;
      },
      onDeferred: () => this.triggerer.wake(),
      onFinished: (runId) => {
        this.options.onFinished?.(runId, t.taskId);
        this.wake();
      },
    }, t, adopt).catch((err) => {
      process.stderr.write(`airlock executor: supervising ${key} failed: ${(err as Error).stack ?? String(err)}\n`);
    }).finally(() => {
      this.active.delete(key);
      this.wake();
    });
    this.active.set(key, done);
  }

  private claimError: string | null = null;

  private async run(): Promise<void> {
    const parallelism = this.options.parallelism ?? this.ctx.config.executor.parallelism;
    const queues = this.options.queues ?? this.ctx.config.executor.queues;
    const pollMs = this.options.pollMs ?? this.ctx.config.scheduler.pollIntervalMs;
    while (this.state === "RUNNING") {
      const free = parallelism - this.active.size;
      // A worker out of touch with the store claims nothing: the fleet may already count it lost.
      if (free > 0 && this.dirty && !this.membership.fenced) {
        this.dirty = false;
        try {
          const claimed = await this.ctx.store.claimQueued({
            workerId: this.workerId, hostname: this.hostname, queues, limit: free,
            logPathOf: (k) => logPath(this.ctx.config.stateDir, k),
          });
          // The claim started the tries (their start time is the store's "now" of that write, a moment ago).
          const startedAt = Date.now();
          for (const c of claimed) this.supervise({ dagId: c.dagId, runId: c.runId, taskId: c.taskId, mapIndex: c.mapIndex, tryNumber: c.tryNumber, isolation: c.isolation as BackendName, fence: { workerId: this.workerId, epoch: 0 }, startedAt }, null);
          if (claimed.length === free) this.dirty = true;
          this.claimError = null;
        } catch (err) {
          // Said once per distinct error: a store that is down for a minute must not fill the log.
          if ((err as Error).message !== this.claimError) process.stderr.write(`airlock executor: claiming failed (will retry): ${(err as Error).message}\n`);
          this.claimError = (err as Error).message;
        }
      }
      // (A fenced worker waits for its next heartbeat instead: looping here would starve the heartbeat itself.)
      if (this.dirty && this.active.size < parallelism && !this.membership.fenced) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.dirty = true;
          resolve();
        }, pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }
}
