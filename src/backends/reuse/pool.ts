/**
 * The reuse pool of one backend: long-lived runners per key (runtime, environment, resources), for tries that
 * declared `reuse: true`. A try takes an idle runner of its key or starts one; when it ends, the runner waits for
 * the next try of the same key. A runner whose try was killed is gone and is not replaced until a try needs one.
 * Runners idle for `idleMs` are ended. Keys never mix: tries of different environments never share a process.
 * The backend says how a runner starts (`spec()`: plain process, sandbox) and how a try is made ready in it.
 */
import { mkdir } from "node:fs/promises";
import type { LaunchRequest, RunningTry } from "../types.js";
import { ReusedRunner, type ReusedRunnerSpec } from "./runner.js";

/** Bounds of a reuse pool. */
export interface ReusePoolSettings {
  /** An idle runner is ended after this long. @default 60000 */
  idleMs: number;
  /** Idle runners kept per key; more are ended as their tries finish. @default 8 */
  maxIdlePerKey: number;
}

/** Counters of a pool, for tests and the bench. */
export interface ReusePoolStats {
  started: number;
  /** Tries that found an idle runner. */
  reused: number;
  /** Runners ended idle or at close. */
  reaped: number;
}

/** Reused runners of one backend. */
export class ReusePool {
  readonly stats: ReusePoolStats = { started: 0, reused: 0, reaped: 0 };
  private readonly idle = new Map<string, ReusedRunner[]>();
  private readonly all = new Set<ReusedRunner>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(readonly settings: ReusePoolSettings) {
    this.timer = setInterval(() => this.reap(), Math.max(100, Math.min(1000, Math.floor(settings.idleMs / 2))));
    this.timer.unref();
  }

  /** Runs `request` in an idle runner of `key`, or in a new one made from `spec()`. */
  async launch(key: string, spec: () => ReusedRunnerSpec, request: LaunchRequest): Promise<RunningTry> {
    if (this.closed) throw new Error("the reuse pool is closed (the worker is stopping)");
    // Made off the event loop: with no process to start, folder work is a large part of a reused try's launch.
    await mkdir(request.scratchDir, { recursive: true, mode: 0o700 });
    const list = this.idle.get(key);
    let runner: ReusedRunner | undefined;
    while (list && list.length > 0 && !runner) {
      const r = list.pop() as ReusedRunner;
      if (r.idle) runner = r;
    }
    if (runner) this.stats.reused++;
    else {
      runner = await ReusedRunner.start(spec());
      this.stats.started++;
      this.all.add(runner);
    }
    let running: RunningTry;
    try {
      running = await runner.run(request, (r) => this.release(key, r));
    } catch (err) {
      // It could not be made ready for this try: it stays for the next one (or is dropped if it ended).
      if (runner.idle) this.release(key, runner);
      else if (runner.ended) this.all.delete(runner);
      throw err;
    }
    void running.exited.then(() => {
      if (runner.ended) this.all.delete(runner);
    });
    return running;
  }

  /** Pids of every live runner, idle or busy (tests). */
  pids(): number[] {
    return [...this.all].filter((r) => !r.ended).map((r) => r.pid);
  }

  /** Ends every runner (busy ones are killed); later launches are refused. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const all = [...this.all];
    this.all.clear();
    this.idle.clear();
    this.stats.reaped += all.length;
    await Promise.all(all.map((r) => r.dispose()));
  }

  private release(key: string, runner: ReusedRunner): void {
    if (this.closed) return void runner.dispose();
    const list = this.idle.get(key) ?? [];
    this.idle.set(key, list);
    if (list.length >= this.settings.maxIdlePerKey) {
      this.drop(runner);
      return;
    }
    list.push(runner);
  }

  private drop(runner: ReusedRunner): void {
    this.all.delete(runner);
    this.stats.reaped++;
    void runner.dispose();
  }

  private reap(): void {
    const now = Date.now();
    for (const [key, list] of this.idle) {
      const keep = list.filter((r) => r.idle && now - r.idleSince < this.settings.idleMs);
      for (const r of list) {
        if (r.ended) this.all.delete(r);
        else if (!keep.includes(r)) this.drop(r);
      }
      if (keep.length) this.idle.set(key, keep);
      else this.idle.delete(key);
    }
  }
}
