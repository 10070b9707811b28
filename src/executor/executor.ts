/**
 * The executor: claims queued task instances of its queues (each by exactly one worker), supervises their tries,
 * and on start adopts the tries an earlier instance on this host left running.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import { randomUUID } from "node:crypto";
import type { AirlockContext } from "../core/context.js";
import { logPath } from "../core/paths.js";
import type { BackendName } from "../sdk/types.js";
import { BackendRegistry, ensureEnvironment } from "./backends.js";
import { superviseTry, type TryTarget } from "./supervisor.js";

/** Lifecycle of an executor. */
export type ExecutorState = "INITIALIZED" | "RUNNING" | "STOPPING" | "STOPPED";

/** Options of the executor. */
export interface ExecutorOptions {
  /** Queues served. @default config.executor.queues */
  queues?: string[];
  /** Tries supervised at once. @default config.executor.parallelism */
  parallelism?: number;
  /** Called when a try's end is recorded. */
  onFinished?: (runId: string) => void;
  /** Polling interval when not woken. @default config.scheduler.pollIntervalMs */
  pollMs?: number;
  /** Adopt tries left running on this host by an earlier instance. @default true */
  adopt?: boolean;
}

/** Claims and supervises tries. */
export class Executor {
  state: ExecutorState = "INITIALIZED";
  readonly workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly hostname = os.hostname();
  readonly backends: BackendRegistry;
  private readonly active = new Map<string, Promise<void>>();
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private dirty = true;
  private readonly shutdown = new AbortController();

  constructor(private readonly ctx: AirlockContext, private readonly options: ExecutorOptions = {}) {
    this.backends = new BackendRegistry(ctx.config);
  }

  /** Number of tries being supervised. */
  get busy(): number {
    return this.active.size;
  }

  /** Adopts leftovers of a previous instance on this host (unless told not to), then starts claiming. Idempotent. */
  async start(): Promise<void> {
    if (this.state !== "INITIALIZED") return;
    this.state = "RUNNING";
    if (this.options.adopt !== false) {
      await this.adoptLeftovers();
      this.startReaper();
    }
    this.loop = this.run();
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
   * Stops claiming, gives running tries `graceMs` to end, then stops the rest (they fail and may be retried at the
   * next start). Idempotent.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.state === "STOPPED" || this.state === "INITIALIZED") {
      this.state = "STOPPED";
      return;
    }
    this.state = "STOPPING";
    if (this.reaper) clearInterval(this.reaper);
    this.wakeUp?.();
    await this.loop;
    const all = Promise.allSettled([...this.active.values()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.shutdown.abort();
    await all;
    await this.backends.close();
    this.state = "STOPPED";
  }

  private supervise(t: TryTarget, adopt: { handle: Record<string, unknown> | null } | null): void {
    const key = `${t.runId}/${t.taskId}/${t.tryNumber}`;
    const done = superviseTry({
      ctx: this.ctx,
      backend: (name) => this.backends.get(name),
      environment: (name, log) => ensureEnvironment(this.ctx.config, name, log),
      shutdown: this.shutdown.signal,
      onFinished: (runId) => {
        this.options.onFinished?.(runId);
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

  private async adoptLeftovers(): Promise<void> {
    for (const t of await this.ctx.store.listRunningTries(this.hostname)) {
      const target: TryTarget = { dagId: t.dagId, runId: t.runId, taskId: t.taskId, tryNumber: t.tryNumber, isolation: t.isolation };
      this.supervise(target, { handle: t.handle });
    }
  }

  private async run(): Promise<void> {
    const parallelism = this.options.parallelism ?? this.ctx.config.executor.parallelism;
    const queues = this.options.queues ?? this.ctx.config.executor.queues;
    const pollMs = this.options.pollMs ?? this.ctx.config.scheduler.pollIntervalMs;
    while (this.state === "RUNNING") {
      const free = parallelism - this.active.size;
      if (free > 0 && this.dirty) {
        this.dirty = false;
        try {
          const claimed = await this.ctx.store.claimQueued({
            workerId: this.workerId, hostname: this.hostname, queues, limit: free,
            logPathOf: (k) => logPath(this.ctx.config.stateDir, k),
          });
          for (const c of claimed) this.supervise({ dagId: c.dagId, runId: c.runId, taskId: c.taskId, tryNumber: c.tryNumber, isolation: c.isolation as BackendName }, null);
          if (claimed.length === free) this.dirty = true;
        } catch (err) {
          process.stderr.write(`airlock executor: claiming failed (will retry): ${(err as Error).message}\n`);
        }
      }
      if (this.dirty && this.active.size < parallelism) continue;
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
