/**
 * One LISTEN connection per store handle, shared by every subscriber. Postgres delivers a notification when the
 * writing transaction commits. The connection reconnects on failure (with backoff) and then signals every
 * subscriber once, since notifications sent while it was down are lost.
 */
import pg from "pg";
import { CHANGES_CHANNEL } from "../ops/fleet-b-migrations.js";

const MAX_BACKOFF_MS = 5_000;

/** Listens for change-feed notifications on a dedicated connection. */
export class ChangeListener {
  private readonly subscribers = new Set<() => void>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private retry: NodeJS.Timeout | undefined;
  private backoffMs = 100;
  private closed = false;

  constructor(private readonly url: string) {}

  /** Adds a subscriber; resolves once listening (or once the first attempt failed: reconnects continue). */
  async subscribe(onSignal: () => void): Promise<() => Promise<void>> {
    this.subscribers.add(onSignal);
    if (!this.client && !this.connecting) await this.connect();
    else await this.connecting;
    return async () => {
      this.subscribers.delete(onSignal);
      if (this.subscribers.size === 0) await this.close();
    };
  }

  /** The backend process id of the listening connection (tests terminate it to prove reconnection). */
  get backendPid(): number | null {
    return (this.client as unknown as { processID?: number } | null)?.processID ?? null;
  }

  private signal(): void {
    for (const s of this.subscribers) s();
  }

  private connect(): Promise<void> {
    this.closed = false;
    this.connecting = (async () => {
      const client = new pg.Client({ connectionString: this.url });
      const lost = () => {
        if (this.client !== client) return;
        this.client = null;
        client.removeAllListeners("notification");
        void client.end().catch(() => undefined);
        this.scheduleReconnect();
      };
      client.on("error", lost);
      client.on("end", lost);
      client.on("notification", (n) => {
        if (n.channel === CHANGES_CHANNEL) this.signal();
      });
      try {
        await client.connect();
        await client.query(`listen ${CHANGES_CHANNEL}`);
        if (this.closed) {
          await client.end().catch(() => undefined);
          return;
        }
        const reconnected = this.backoffMs > 100;
        this.client = client;
        this.backoffMs = 100;
        // Whatever was announced while the connection was down must be looked at now.
        if (reconnected) this.signal();
      } catch {
        client.removeAllListeners();
        client.on("error", () => undefined);
        await client.end().catch(() => undefined);
        this.scheduleReconnect();
      }
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, wait);
    this.retry.unref();
  }

  /** Stops listening and closes the connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.connecting;
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners("end");
      c.removeAllListeners("notification");
      await c.end().catch(() => undefined);
    }
  }
}
