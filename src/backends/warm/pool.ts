/**
 * The warm pool of one backend: for each key (environment, backend and isolation settings) it keeps a few runners
 * started ahead of demand, bounded in number and memory, and ends those left unused for `idleMs`. Keys are filled
 * when a try of that key launches (cold or warm), so the next try of the same kind finds its process waiting.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { isSameProcess, processStartTime } from "../process/proc.js";
import type { WarmLaunchSettings } from "../../config/warm-launch.js";
import type { WarmProcess } from "./warm-process.js";

export type { WarmLaunchSettings } from "../../config/warm-launch.js";

/** Counters of a pool, for tests and the bench. */
export interface WarmPoolStats {
  started: number;
  handedOver: number;
  /** Launches that found no waiting runner. */
  misses: number;
  /** Runners ended unused (idle, memory, shutdown). */
  reaped: number;
}

interface KeyState {
  slots: WarmProcess[];
  lastDemand: number;
  start: (dir: string) => WarmProcess;
  /** Runners of this key that ended before a try took them, in a row: after 3 the key is not warmed any more. */
  earlyExits: number;
  /**
   * Runners kept waiting: `perEnvironment`, plus one for each launch that found none waiting (tries of the key
   * started together, e.g. independent tasks), up to `maxProcesses`; back to `perEnvironment` after `idleMs`
   * without such a miss.
   */
  target: number;
  lastMiss: number;
}

/** A Node runner's resident memory right after start, used until a runner of the pool has been measured. */
const ESTIMATED_RSS = 48 * 2 ** 20;

/** Warm runners of one backend. */
export class WarmPool {
  readonly stats: WarmPoolStats = { started: 0, handedOver: 0, misses: 0, reaped: 0 };
  private readonly keys = new Map<string, KeyState>();
  private readonly rss = new Map<WarmProcess, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly ownerDir: string;
  private next = 0;
  private closed = false;

  /** `root` holds the pools' folders (one per orchestrator process); those of ended processes are removed here. */
  constructor(readonly settings: WarmLaunchSettings, root: string, onStale: (dir: string) => void = () => undefined) {
    sweepStale(root, onStale);
    this.ownerDir = path.join(root, `${process.pid}-${processStartTime(process.pid) ?? 0}`);
    this.timer = setInterval(() => void this.maintain(), Math.max(100, Math.min(1000, Math.floor(settings.idleMs / 2))));
    this.timer.unref();
  }

  /** A waiting runner of `key`, now owned by the caller; null when none waits. */
  take(key: string): WarmProcess | null {
    const state = this.keys.get(key);
    if (state) state.lastDemand = Date.now();
    if (state && !state.slots.some((w) => w.waiting)) {
      state.target = Math.min(state.target + 1, this.settings.maxProcesses);
      state.lastMiss = Date.now();
    }
    while (state && state.slots.length > 0) {
      const slot = state.slots.shift() as WarmProcess;
      this.rss.delete(slot);
      if (slot.waiting) {
        state.earlyExits = 0;
        this.stats.handedOver++;
        return slot;
      }
      this.ended(state, slot);
    }
    this.stats.misses++;
    return null;
  }

  /** Keeps `perEnvironment` runners of `key` waiting, started by `start(dir)` in a fresh folder `dir`. */
  want(key: string, start: (dir: string) => WarmProcess): void {
    if (this.closed || !this.settings.enabled) return;
    let state = this.keys.get(key);
    if (!state) {
      state = { slots: [], lastDemand: Date.now(), start, earlyExits: 0, target: this.settings.perEnvironment, lastMiss: 0 };
      this.keys.set(key, state);
    }
    state.lastDemand = Date.now();
    state.start = start;
    this.fill(key, state);
  }

  /** Waiting runners of every key. */
  get size(): number {
    let n = 0;
    for (const s of this.keys.values()) n += s.slots.length;
    return n;
  }

  /** Pids of the waiting runners (tests). */
  pids(): number[] {
    return [...this.keys.values()].flatMap((s) => s.slots.map((w) => w.pid));
  }

  /** Ends every waiting runner; later calls to want() start none. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const all = [...this.keys.values()].flatMap((s) => s.slots);
    this.keys.clear();
    this.rss.clear();
    this.stats.reaped += all.length;
    await Promise.all(all.map((w) => w.dispose()));
    rmSync(this.ownerDir, { recursive: true, force: true });
  }

  private fill(key: string, state: KeyState): void {
    if (state.earlyExits >= 3) return;
    while (state.slots.length < state.target && this.size < this.settings.maxProcesses && this.memoryAllows()) {
      try {
        const slot = state.start(path.join(this.ownerDir, String(this.next++)));
        this.stats.started++;
        state.slots.push(slot);
      } catch (err) {
        state.earlyExits++;
        process.stderr.write(`airlock executor: a warm runner could not start (tries launch cold): ${(err as Error).message}\n`);
        return;
      }
    }
  }

  private memoryAllows(): boolean {
    const known = [...this.rss.values()];
    const each = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : ESTIMATED_RSS;
    const unmeasured = this.size - known.length;
    const total = known.reduce((a, b) => a + b, 0) + unmeasured * each;
    return total + each <= this.settings.maxMemoryMiB * 2 ** 20;
  }

  private ended(state: KeyState, slot: WarmProcess): void {
    // A runner that ended while it waited (it crashed on start, or was killed) serves no one.
    state.earlyExits++;
    void slot.dispose().catch(() => undefined);
  }

  private async maintain(): Promise<void> {
    const now = Date.now();
    for (const [key, state] of this.keys) {
      for (const slot of [...state.slots]) {
        if (slot.waiting) continue;
        state.slots.splice(state.slots.indexOf(slot), 1);
        this.rss.delete(slot);
        this.ended(state, slot);
      }
      if (now - state.lastMiss > this.settings.idleMs) state.target = this.settings.perEnvironment;
      if (now - state.lastDemand > this.settings.idleMs) {
        this.keys.delete(key);
        this.stats.reaped += state.slots.length;
        for (const slot of state.slots) {
          this.rss.delete(slot);
          await slot.dispose().catch(() => undefined);
        }
      }
    }
    for (const state of this.keys.values()) for (const slot of state.slots) if (!this.rss.has(slot) && now - slot.startedAt > 500) this.rss.set(slot, treeRss(slot.pid));
    // Over the memory bound (runners grew, or the bound was lowered): the oldest go first.
    while (this.size > 0 && !this.memoryAllowsCurrent()) {
      const oldest = [...this.keys.values()].flatMap((s) => s.slots.map((w) => ({ s, w }))).sort((a, b) => a.w.startedAt - b.w.startedAt)[0];
      if (!oldest) break;
      oldest.s.slots.splice(oldest.s.slots.indexOf(oldest.w), 1);
      this.rss.delete(oldest.w);
      this.stats.reaped++;
      await oldest.w.dispose().catch(() => undefined);
    }
  }

  private memoryAllowsCurrent(): boolean {
    let total = 0;
    for (const state of this.keys.values()) for (const slot of state.slots) total += this.rss.get(slot) ?? ESTIMATED_RSS;
    return total <= this.settings.maxMemoryMiB * 2 ** 20;
  }
}

/**
 * Resident memory of a process and its descendants, in bytes, following /proc/<pid>/task/<pid>/children (a warm
 * runner's tree is two or three processes: a whole /proc scan per runner would cost more than the runner's start).
 */
function treeRss(pid: number): number {
  let total = 0;
  const stack = [pid];
  for (let seen = 0; stack.length > 0 && seen < 64; seen++) {
    const p = stack.pop() as number;
    try {
      total += Number(readFileSync(`/proc/${p}/statm`, "utf8").split(" ")[1]) * 4096;
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").split(" ")) if (c.trim()) stack.push(Number(c));
    } catch {
      // Gone.
    }
  }
  return total;
}

/** Removes the folders of pools whose orchestrator process has ended (a crash leaves them behind). */
function sweepStale(root: string, onStale: (dir: string) => void): void {
  let owners: string[];
  try {
    owners = readdirSync(root);
  } catch {
    return;
  }
  for (const owner of owners) {
    const m = /^(\d+)-(\d+)$/.exec(owner);
    if (m && isSameProcess(Number(m[1]), Number(m[2]))) continue;
    const dir = path.join(root, owner);
    try {
      for (const slot of readdirSync(dir)) onStale(path.join(dir, slot));
    } catch {
      // Not a folder.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
