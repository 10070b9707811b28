/** Telling a sandbox that could not be set up apart from a task that failed, from the try's own output files. */
import { closeSync, openSync, readSync, statSync } from "node:fs";

/** bwrap's complaint (e.g. "bwrap: Can't find source path ...") when the runner never started, else null. */
export function describeSetupFailure(rawLogPath: string, eventsPath: string): string | null {
  try {
    if (statSync(eventsPath).size > 0) return null;
  } catch {
    // no events file: the runner never started
  }
  const tail = readTail(rawLogPath, 4096);
  const line = tail.split("\n").reverse().find((l) => l.startsWith("bwrap: "));
  return line ? `the sandbox could not be set up: ${line.slice("bwrap: ".length)}` : null;
}

function readTail(file: string, bytes: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const size = statSync(file).size;
    const length = Math.min(bytes, size);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    return buf.toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
