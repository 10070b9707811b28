/**
 * The server-sent-events stream: state changes from the change feed, and live log lines of the tries the client
 * names (`log=runId|taskId|tryNumber[|offset]`). EventSource cannot set headers, so `?token=` is accepted here.
 */
import type { ServerResponse } from "node:http";
import { ValidationError } from "../../core/errors.js";
import type { ChangeEvent } from "../../store/types.js";
import type { ApiServices } from "../services.js";
import type { TryRef } from "../core.js";
import { defineRoute, type AnyRoute } from "../route.js";
import { EventsQuery, SseEvent } from "../schemas.js";

const LOG_POLL_MS = 300;
const HEARTBEAT_MS = 15_000;
const LOG_CHUNK_BYTES = 64 * 1024;

/** A try whose log the client follows, from a byte offset. */
interface LogFollow extends TryRef {
  offset: number;
  /** The task as the client named it: "each[3]" for a mapped instance. */
  label: string;
}

function parseLogSpec(spec: string, index: number): LogFollow {
  const parts = spec.split("|");
  const [runId, taskId, tryText, offsetText] = parts;
  const tryNumber = Number(tryText);
  const offset = offsetText === undefined ? 0 : Number(offsetText);
  if (parts.length < 3 || parts.length > 4 || !runId || !taskId || !Number.isInteger(tryNumber) || tryNumber < 1 || !Number.isSafeInteger(offset) || offset < 0) {
    throw new ValidationError(`query.log.${index}`, `"${spec.slice(0, 100)}" is not "runId|taskId|tryNumber[|offset]"`, "Name a try as runId|taskId|tryNumber, e.g. log=manual__1|extract|1 (a mapped instance as task[mapIndex]: log=manual__1|each[3]|1)");
  }
  // A mapped instance is named "task[mapIndex]" (task ids cannot hold brackets).
  const mapped = /^(.+)\[(\d+)\]$/.exec(taskId);
  return { runId, taskId: mapped ? (mapped[1] as string) : taskId, mapIndex: mapped ? Number(mapped[2]) : -1, tryNumber, offset, label: taskId };
}

/** One open stream. */
class EventStream {
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private lastSent: number;

  constructor(private readonly res: ServerResponse, private readonly services: ApiServices, private readonly dagId: string | undefined, since: number) {
    this.lastSent = since;
  }

  async start(since: number | undefined, follows: LogFollow[]): Promise<void> {
    this.res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    this.res.write("retry: 2000\n\n");
    this.res.on("close", () => this.close());
    // Subscribe before the backfill and drop duplicates by id, so no change falls between the two.
    const pending: ChangeEvent[][] = [];
    let backfilled = false;
    this.unsubscribe = await this.services.hub.subscribe((batch) => (backfilled ? this.sendChanges(batch) : pending.push(batch)));
    if (since !== undefined) {
      for (let i = 0; i < 20 && !this.closed; i++) {
        const batch = await this.services.ctx.store.listChangesSince(this.lastSent, 500);
        this.sendChanges(batch);
        if (batch.length < 500) break;
      }
    }
    backfilled = true;
    for (const b of pending) this.sendChanges(b);
    this.write(`event: ready\ndata: ${JSON.stringify({ lastEventId: this.lastSent })}\n\n`);
    for (const f of follows) void this.follow(f);
    const beat = setInterval(() => this.write(": ping\n\n"), HEARTBEAT_MS);
    beat.unref();
    this.timers.push(beat);
  }

  private sendChanges(batch: ChangeEvent[]): void {
    for (const c of batch) {
      if (c.id <= this.lastSent) continue;
      this.lastSent = c.id;
      if (this.dagId !== undefined && c.dagId !== null && c.dagId !== this.dagId) continue;
      this.write(`id: ${c.id}\nevent: change\ndata: ${JSON.stringify(c)}\n\n`);
    }
  }

  /** Streams a try's log until the try has ended and everything was sent. */
  private async follow(f: LogFollow): Promise<void> {
    let offset = f.offset;
    while (!this.closed) {
      let chunk;
      try {
        chunk = await this.services.core.readLogChunk(f, offset, LOG_CHUNK_BYTES);
      } catch {
        // The try may not have started yet (the UI follows a queued task): keep waiting for it.
        await this.sleep(LOG_POLL_MS * 2);
        continue;
      }
      if (this.closed) return;
      if (chunk.text.length > 0 || chunk.complete) {
        this.write(`event: log\ndata: ${JSON.stringify({ runId: f.runId, taskId: f.label, tryNumber: f.tryNumber, ...chunk })}\n\n`);
      }
      if (chunk.complete) return;
      // A full chunk means more is waiting: read again at once.
      if (chunk.nextOffset > offset && chunk.nextOffset - offset >= LOG_CHUNK_BYTES) {
        offset = chunk.nextOffset;
        continue;
      }
      offset = chunk.nextOffset;
      await this.sleep(LOG_POLL_MS);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
    });
  }

  private write(text: string): void {
    if (!this.closed && !this.res.destroyed) this.res.write(text);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    if (!this.res.writableEnded) this.res.end();
  }
}

/** Streams open now, so the server can end them on close. */
export const openStreams = new WeakMap<ApiServices, Set<{ close(): void }>>();

/** The SSE route. */
export const eventRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/events", operationId: "streamEvents", tag: "Events", role: "read", queryToken: true, eventStream: true,
    summary: "Server-sent events: `change` (state changes; resume with Last-Event-ID or since) and `log` (lines of followed tries)",
    query: EventsQuery, response: SseEvent,
    async handler({ query, request, reply, services }) {
      const follows = (query.log ?? []).map(parseLogSpec);
      const header = request.headers["last-event-id"];
      const fromHeader = typeof header === "string" && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
      const since = query.since ?? fromHeader;
      const start = since ?? (await services.hub.currentId());
      reply.hijack();
      const stream = new EventStream(reply.raw, services, query.dagId, start);
      let set = openStreams.get(services);
      if (!set) openStreams.set(services, (set = new Set()));
      set.add(stream);
      reply.raw.on("close", () => set.delete(stream));
      await stream.start(since, follows);
      return undefined;
    },
  }),
];
