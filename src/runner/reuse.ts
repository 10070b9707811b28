/**
 * A reused runner (`--reuse`, for environments and tasks that declare `reuse: true`): one long-lived process that
 * runs many tries of one environment one after another. Payloads arrive as one JSON line each on stdin; each try's
 * events go to stdout tagged with that try's nonce (stderr is the same pipe), and its end is one line
 * `REUSE_END_PREFIX<nonce>:<exit code>` after everything the try printed. End-of-file on stdin means the pool or the
 * orchestrator is gone: the runner exits at once, whatever it was running.
 * With `--scrub-tmp` (in a reused sandbox, whose /tmp is its own tmpfs) /tmp is emptied after each try, so the next
 * try finds none of its files there.
 */
import { lstatSync, readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { EventChannel } from "./channel.js";
import { EXIT, runTask } from "./execute.js";
import { PROTOCOL_VERSION, REUSE_END_PREFIX, type TaskPayload } from "./protocol.js";

/** Reads payload lines and runs them one at a time, until stdin ends. */
export function serveReused(dist: string): void {
  const queue: string[] = [];
  let partial = "";
  let busy = false;
  const next = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    for (let line = queue.shift(); line !== undefined; line = queue.shift()) await runOne(line, dist);
    busy = false;
  };
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) if (l.length > 0) queue.push(l);
    void next();
  });
  process.stdin.on("end", () => process.exit(EXIT.ok));
  process.stdin.on("error", () => process.exit(EXIT.ok));
}

async function runOne(line: string, dist: string): Promise<void> {
  let payload: TaskPayload;
  try {
    payload = JSON.parse(line) as TaskPayload;
  } catch (err) {
    process.stderr.write(`airlock runner: a payload line is not JSON (${(err as Error).message}); this runner is started by the orchestrator, not by hand\n`);
    process.exit(EXIT.badPayload);
  }
  if (payload?.protocol !== PROTOCOL_VERSION || typeof payload.nonce !== "string") {
    process.stderr.write(`airlock runner: payload protocol ${String(payload?.protocol)} is not supported (this runner speaks ${PROTOCOL_VERSION})\n`);
    process.exit(EXIT.badPayload);
  }
  // Each try gets its own scratch folder as HOME, TMPDIR and working directory.
  process.env.HOME = process.env.TMPDIR = payload.context.scratchDir;
  process.chdir(payload.context.scratchDir);
  // Events go on stdout with this try's nonce, so they stay in order with what the try printed.
  const channel = new EventChannel(payload.nonce, 1, payload.nonce);
  let code: number;
  try {
    code = await runTask(payload, channel, dist);
  } catch (err) {
    process.stderr.write(`airlock runner: ${(err as Error).stack ?? String(err)}\n`);
    code = EXIT.failed;
  }
  // The orchestrator finds the marker anywhere in a line: an unterminated last line of the try stays its own.
  if (SCRUB_TMP) scrubTmp();
  process.stdout.write(`${REUSE_END_PREFIX}${payload.nonce}:${code}\n`);
}

/** Only in a sandbox: outside one, /tmp is the machine's. */
const SCRUB_TMP = process.argv.includes("--scrub-tmp");

function scrubTmp(): void {
  try {
    scrub("/tmp", lstatSync("/tmp").dev);
  } catch (err) {
    process.stderr.write(`airlock runner: could not empty /tmp after the try: ${(err as Error).message}\n`);
  }
}

/**
 * Removes what lies on /tmp's own file system under `dir`. Folders bound into the sandbox below /tmp (the runner's
 * scratch, its module folder, an environment) are other mounts: they are never entered, and the folders bwrap made
 * to hold them stay.
 */
function scrub(dir: string, dev: number): void {
  for (const name of readdirSync(dir)) {
    const full = `${dir}/${name}`;
    const st = lstatSync(full);
    if (st.dev !== dev) continue;
    if (st.isDirectory()) {
      scrub(full, dev);
      try {
        rmdirSync(full);
      } catch {
        // It holds a mount point.
      }
    } else unlinkSync(full);
  }
}
