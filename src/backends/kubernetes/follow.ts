/**
 * Streams a try's container log into its demuxer from the moment the container starts until it has ended:
 * reconnecting after a drop from the saved cursor, and reading once more without follow after the end, so the
 * files hold every line exactly once.
 */
import { EVENT_PREFIX, decodeEvent } from "../../runner/protocol.js";
import type { OutputDemuxer } from "../docker/output.js";
import type { KubeClient } from "./client.js";
import { type LogCursor, TimestampedLines, openLog, writeCursor } from "./logs.js";
import type { ResultRef } from "./result.js";
import { TASK_CONTAINER } from "./spec.js";

/** What a follower needs. */
export interface FollowOptions {
  client: KubeClient;
  pod: string;
  demux: OutputDemuxer;
  cursor: LogCursor;
  cursorPath: string;
  rawLogPath: string;
  /** True once the pod's poll has seen the container end (or the pod gone). */
  ended: () => boolean;
  /** Per-try nonce of runner pods: a `result` event with a file reference starts its collection. */
  nonce: string | null;
  onLargeResult?: (ref: ResultRef) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Follows the log of one pod's task container; `done` resolves after the final read. */
export class LogFollower {
  private running: Promise<void> | null = null;
  private stopped = false;
  private position: Pick<LogCursor, "ts" | "atTs">;
  private readonly prefix: Buffer | null;
  /** Reconnections after a dropped stream (for tests and the log). */
  reconnects = 0;

  constructor(private readonly o: FollowOptions) {
    this.position = { ts: o.cursor.ts, atTs: o.cursor.atTs };
    this.prefix = o.nonce ? Buffer.from(`${EVENT_PREFIX}${o.nonce}:`) : null;
  }

  /** Starts following (idempotent). */
  start(): void {
    this.running ??= this.run();
  }

  /** Waits for the final read (bounded), then stops. */
  async finish(timeoutMs = 15_000): Promise<void> {
    if (!this.running) return;
    await Promise.race([this.running, sleep(timeoutMs)]);
    this.stopped = true;
  }

  /** Saves the cursor now (after the backend appended its own note to the raw log). */
  save(): void {
    try {
      writeCursor(this.o.cursorPath, this.position, this.o.rawLogPath);
    } catch {
      // The try's folder is gone (the try was cleared or its state removed): nothing left to resume into.
    }
  }

  private async run(): Promise<void> {
    let first = true;
    while (!this.stopped) {
      const ended = this.o.ended();
      try {
        const res = await openLog(this.o.client, { pod: this.o.pod, container: TASK_CONTAINER, follow: !ended, sinceTime: this.position.ts });
        const lines = new TimestampedLines(this.position, (line) => this.line(line));
        await new Promise<void>((resolve) => {
          res.on("data", (chunk: Buffer) => {
            lines.push(chunk);
            this.position = lines.position;
            this.save();
          });
          res.on("end", resolve);
          res.on("error", () => resolve());
          res.on("close", () => resolve());
        });
        if (ended || !res.complete) {
          // An aborted response dropped a partial line; the next request repeats it whole from the cursor.
          if (ended) lines.end();
          this.position = lines.position;
          this.save();
        }
      } catch {
        // The pod is gone or the API did not answer: the poll decides whether to keep trying.
      }
      if (ended) return;
      if (!first) this.reconnects++;
      first = false;
      await sleep(250);
    }
  }

  private line(line: Buffer): void {
    if (this.prefix && this.o.onLargeResult && line.includes(this.prefix) && line.includes('"ref"')) {
      const at = line.indexOf(this.prefix);
      const e = decodeEvent(line.subarray(at + this.prefix.length).toString("utf8").trimEnd());
      if (e?.type === "result" && "ref" in e.value) this.o.onLargeResult(e.value);
    }
    this.o.demux.push("stdout", line);
  }
}
