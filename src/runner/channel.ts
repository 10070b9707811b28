/** The runner's side of the events channel: fd 3 when the supervisor opened it, else stdout lines tagged with the nonce. */
import { fstatSync, writeSync } from "node:fs";
import { encodeEvent, type TaskEvent } from "./protocol.js";

type Body = TaskEvent extends infer E ? (E extends TaskEvent ? Omit<E, "seq"> : never) : never;

/** Emits sequenced events; writes are synchronous so nothing is lost when the process exits right after. */
export class EventChannel {
  private seq = 0;
  private readonly fd: number;
  private readonly nonce: string | undefined;

  /** `fd` forces a descriptor (with `tag`, events on it carry that nonce, e.g. stdout of a reused runner). */
  constructor(nonce: string, fd?: number, tag?: string) {
    if (fd !== undefined) {
      this.fd = fd;
      this.nonce = tag;
      return;
    }
    let fd3 = false;
    try {
      fd3 = fstatSync(3).isFile() || fstatSync(3).isFIFO() || fstatSync(3).isSocket();
    } catch {
      fd3 = false;
    }
    this.fd = fd3 ? 3 : 1;
    this.nonce = fd3 ? undefined : nonce;
  }

  emit(event: Body): void {
    const line = encodeEvent({ ...event, seq: ++this.seq } as TaskEvent, this.nonce);
    const buf = Buffer.from(line);
    for (let off = 0; off < buf.length; ) {
      try {
        off += writeSync(this.fd, buf, off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      }
    }
  }
}
