/**
 * One poller of the store's change feed per server, fanned out to every SSE subscriber, so a hundred open
 * browser tabs cost one query per tick. The feed is shared by all processes, so changes made by a scheduler in
 * another process reach the UI too.
 */
import type { Store } from "../store/store.js";
import type { ChangeEvent } from "../store/types.js";

/** Receives batches of changes in id order. */
export type ChangeListener = (changes: ChangeEvent[]) => void;

/** Polls the change feed while anyone listens. */
export class ChangeHub {
  private readonly listeners = new Set<ChangeListener>();
  private lastId: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  private unwatch: Promise<() => Promise<void>> | undefined;

  constructor(private readonly store: Store, private readonly intervalMs = 250) {}

  /**
   * Adds a listener; resolves to a function that removes it. Every change after the moment this resolves is
   * delivered. Polling starts with the first listener (from the feed's current end, not from a stale point).
   */
  async subscribe(listener: ChangeListener): Promise<() => void> {
    if (this.listeners.size === 0 || this.lastId === undefined) this.lastId = await this.store.latestChangeId();
    this.listeners.add(listener);
    this.ensureTimer();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopTimer();
    };
  }

  /** The newest change id the hub has seen (or the store's latest when it has not polled yet). */
  async currentId(): Promise<number> {
    return this.lastId ?? (await this.store.latestChangeId());
  }

  /** Polls now (also used after an action so the caller's own change is sent without waiting a tick). */
  async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      if (this.lastId === undefined) return;
      for (let i = 0; i < 20; i++) {
        const batch = await this.store.listChangesSince(this.lastId, 500);
        if (batch.length === 0) break;
        this.lastId = batch[batch.length - 1]?.id ?? this.lastId;
        for (const l of this.listeners) l(batch);
        if (batch.length < 500) break;
      }
    } catch {
      // A store hiccup (locked database, restart) must not kill the stream; the next tick retries.
    } finally {
      this.polling = false;
    }
  }

  /** Stops polling and drops listeners; idempotent. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stopTimer();
  }

  private ensureTimer(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
    // Changes of any process reach subscribers as soon as they commit; the timer stays as a safety net.
    this.unwatch = this.store.watchChanges(() => this.signalled()).catch(() => async () => undefined);
  }

  private signalledWhilePolling = false;

  /** A signal during a poll must not be lost: that poll may have read the feed just before the change. */
  private signalled(): void {
    if (this.polling) {
      this.signalledWhilePolling = true;
      return;
    }
    void this.poll().then(() => {
      if (!this.signalledWhilePolling) return;
      this.signalledWhilePolling = false;
      this.signalled();
    });
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const u = this.unwatch;
    this.unwatch = undefined;
    void u?.then((stop) => stop()).catch(() => undefined);
  }
}
