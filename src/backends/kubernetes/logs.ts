/**
 * Following a container's log so that a dropped API connection loses and repeats nothing. Lines are asked for
 * with timestamps; a cursor (last timestamp, lines seen at it, raw-log size) is kept in the try's directory, and a
 * reconnect (or an orchestrator restarted after `kill -9`) asks again from that second with `sinceTime` and skips
 * what the cursor says was delivered. The kubelet puts a timestamp only at the start of a whole line.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { KubeClient } from "./client.js";

/** Where a follow stopped: the last delivered line's timestamp, how many lines carried it, the raw log's size. */
export interface LogCursor {
  ts: string | null;
  atTs: number;
  rawBytes: number;
}

/** Reads the cursor of a try (a fresh one when there is none). */
export function readCursor(file: string): LogCursor {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LogCursor;
  } catch {
    return { ts: null, atTs: 0, rawBytes: 0 };
  }
}

/** Nanoseconds since the epoch of an RFC 3339 timestamp with up to nine fraction digits. */
export function tsNanos(ts: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return -1n;
  const seconds = BigInt(Date.parse(`${m[1]}${m[3]}`) / 1000);
  return seconds * 1_000_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** Splits timestamped log bytes into lines and drops the ones a cursor says were delivered already. */
export class TimestampedLines {
  private partial: Buffer[] = [];
  private readonly skipTs: bigint;
  private skipAtTs: number;
  private ts: string | null;
  private tsAt: bigint;
  private atTs: number;

  constructor(cursor: Pick<LogCursor, "ts" | "atTs">, private readonly deliver: (line: Buffer) => void) {
    this.skipTs = cursor.ts ? tsNanos(cursor.ts) : -1n;
    this.skipAtTs = cursor.atTs;
    this.ts = cursor.ts;
    this.tsAt = this.skipTs;
    this.atTs = cursor.atTs;
  }

  /** The cursor after everything delivered so far. */
  get position(): Pick<LogCursor, "ts" | "atTs"> {
    return { ts: this.ts, atTs: this.atTs };
  }

  /** Feeds bytes of the stream. */
  push(chunk: Buffer): void {
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, start)) {
      this.partial.push(chunk.subarray(start, i + 1));
      this.line(Buffer.concat(this.partial));
      this.partial = [];
      start = i + 1;
    }
    if (start < chunk.length) this.partial.push(Buffer.from(chunk.subarray(start)));
  }

  /** Delivers an unterminated last line (the stream ended without a newline). */
  end(): void {
    if (this.partial.length > 0) this.line(Buffer.concat([...this.partial, Buffer.from("\n")]));
    this.partial = [];
  }

  private line(line: Buffer): void {
    const space = line.indexOf(0x20);
    const ts = space > 0 ? line.subarray(0, space).toString("latin1") : "";
    const at = ts ? tsNanos(ts) : -1n;
    if (at < 0n) {
      // Not a timestamped line (should not happen): deliver it rather than lose it.
      this.deliver(line);
      return;
    }
    if (at < this.skipTs) return;
    if (at === this.skipTs && this.skipAtTs > 0) {
      this.skipAtTs--;
      return;
    }
    if (at === this.tsAt) this.atTs++;
    else {
      this.ts = ts;
      this.tsAt = at;
      this.atTs = 1;
    }
    this.deliver(line.subarray(space + 1));
  }
}

/** Options of one log request. */
export interface LogRequest {
  pod: string;
  container: string;
  follow: boolean;
  /** RFC 3339; the API counts whole seconds, so the caller dedups the rest. */
  sinceTime?: string | null;
}

/** Opens the log of a container; the response ends when the container's log ends or the connection drops. */
export async function openLog(client: KubeClient, r: LogRequest): Promise<http.IncomingMessage> {
  const cluster = client.kc.getCurrentCluster();
  if (!cluster) throw new Error("no current cluster in the kubeconfig");
  const url = new URL(`${cluster.server.replace(/\/$/, "")}/api/v1/namespaces/${encodeURIComponent(client.namespace)}/pods/${encodeURIComponent(r.pod)}/log`);
  url.searchParams.set("container", r.container);
  url.searchParams.set("timestamps", "true");
  if (r.follow) url.searchParams.set("follow", "true");
  if (r.sinceTime) url.searchParams.set("sinceTime", r.sinceTime.replace(/\.\d+/, ""));
  const options: https.RequestOptions = {};
  await client.kc.applyToHTTPSOptions(options);
  const get = url.protocol === "https:" ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(url, options, (res) => {
      if (res.statusCode === 200) return resolve(res);
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        let message = body;
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? body;
        } catch { /* plain text */ }
        reject(Object.assign(new Error(`log request answered ${res.statusCode}: ${message}`), { code: res.statusCode }));
      });
    });
    req.on("error", reject);
  });
}

/** Persists a cursor atomically (the raw log's size is taken now, after the lines were written). */
export function writeCursor(file: string, position: Pick<LogCursor, "ts" | "atTs">, rawLogPath: string): void {
  const rawBytes = existsSync(rawLogPath) ? statSync(rawLogPath).size : 0;
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...position, rawBytes } satisfies LogCursor));
  renameSync(`${file}.tmp`, file);
}

/** Lines the raw log holds beyond a cursor (written after the cursor was saved): a restart must not repeat them. */
export function rawLinesAfter(rawLogPath: string, cursor: LogCursor): number {
  if (!existsSync(rawLogPath)) return 0;
  const tail = readFileSync(rawLogPath).subarray(cursor.rawBytes);
  let n = 0;
  for (const b of tail) if (b === 0x0a) n++;
  return n;
}
