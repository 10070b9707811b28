/** Copies a try's raw output into its final log, line by line, with secrets replaced by ***. */
import { appendFileSync, closeSync, mkdirSync, openSync, readSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Masker } from "../secrets/masker.js";

/** Tails `rawPath` into `logPath`; call `pump()` repeatedly and `finish()` once the try has ended. */
export class LogPump {
  private offset = 0;
  private pending = "";

  private readonly ship: ((masked: string) => void) | undefined;

  /** `ship` receives every masked piece written to the log (the store's copy, see log-shipper.ts). */
  constructor(private readonly rawPath: string, private readonly logPath: string, private readonly masker: Masker, options: { restart?: boolean; ship?: (masked: string) => void } = {}) {
    this.ship = options.ship;
    mkdirSync(path.dirname(logPath), { recursive: true });
    // After a restart the raw output is copied again from the start, so nothing is lost or doubled.
    if (options.restart) writeFileSync(logPath, "");
  }

  /** Appends complete new lines; returns the number of bytes read. */
  pump(): number {
    let fd;
    try {
      fd = openSync(this.rawPath, "r");
    } catch {
      return 0;
    }
    let total = 0;
    try {
      const buf = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        total += n;
        this.pending += buf.subarray(0, n).toString("utf8");
        const cut = this.pending.lastIndexOf("\n");
        if (cut >= 0) {
          this.write(this.pending.slice(0, cut + 1));
          this.pending = this.pending.slice(cut + 1);
        }
        // Very long lines without a newline are flushed in pieces.
        if (this.pending.length > 1 << 20) {
          this.write(this.pending);
          this.pending = "";
        }
      }
    } finally {
      closeSync(fd);
    }
    return total;
  }

  /** Writes a line of the orchestrator's own into the log. */
  note(line: string): void {
    this.write(`${line}\n`);
  }

  /** Masks text (error messages) the same way as the log. */
  mask(text: string): string {
    return this.masker.mask(text);
  }

  /** Masks a JSON result (an XCom) the same way, keeping it valid JSON. */
  maskJson(json: string): string {
    return this.masker.maskJson(json);
  }

  /** Final pump, including a last line without newline. */
  finish(): void {
    this.pump();
    if (this.pending) {
      this.write(`${this.pending}\n`);
      this.pending = "";
    }
  }

  private write(text: string): void {
    // Events may share stdout with the log (container backends); they never reach the log.
    const masked = this.masker.mask(text.replace(/^\u0000airlock:[0-9a-f]+:.*\n?/gm, ""));
    appendFileSync(this.logPath, masked);
    this.ship?.(masked);
  }
}
