/** bash: runs the command; the last stdout line is the XCom; exit 99 skips. */
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { TaskSkipped } from "../../sdk/errors.js";
import type { TaskPayload } from "../protocol.js";

/** Exit code that marks the task skipped (as in Airflow). */
export const SKIP_EXIT_CODE = 99;

/**
 * The only argv bash gets: it reads the script from fd 3 and runs it with fd 3 closed. A rendered command may hold
 * a secret, and argv is public in the process list (Node's stdio pipes are sockets, which /dev/fd/3 cannot open).
 */
const READ_SCRIPT = 'eval "$(cat <&3)" 3<&-';

/** Raised when the command exits non-zero. */
export class BashCommandError extends Error {
  override name = "BashCommandError";
}

/** Runs a rendered bash command with the task's allowlisted environment. */
export async function runBash(p: TaskPayload, args: Record<string, unknown>): Promise<string | null> {
  const command = String(args.command);
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  for (const [k, v] of Object.entries((args.env as Record<string, unknown> | undefined) ?? {})) env[k] = String(v);
  const cwd = typeof args.cwd === "string" && args.cwd ? args.cwd : p.context.scratchDir;
  const child = spawn("bash", ["-c", READ_SCRIPT], { cwd, env, stdio: ["ignore", "pipe", "inherit", "pipe"] });
  const script = child.stdio[3] as Writable;
  // A command that exits before reading all of a long script closes the pipe; that is not an error here.
  script.on("error", () => undefined);
  script.end(command);
  const stdout = child.stdout as Readable;
  let last: string | null = null;
  let pending = "";
  stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    const text = pending + chunk.toString("utf8");
    const lines = text.split("\n");
    pending = lines.pop() ?? "";
    for (const l of lines) last = l;
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (c, signal) => {
      const exitCode = c ?? (signal ? 128 : 1);
      // Background processes (`daemon &`) may hold stdout open for ever: read what the command wrote, then stop
      // waiting for them. They end with the try, which kills everything it started.
      if (stdout.readableEnded) return resolve(exitCode);
      const grace = setTimeout(() => {
        stdout.destroy();
        resolve(exitCode);
      }, 200);
      stdout.once("end", () => {
        clearTimeout(grace);
        resolve(exitCode);
      });
    });
  });
  if (pending) {
    last = pending;
    process.stdout.write("\n");
  }
  if (code === SKIP_EXIT_CODE) throw new TaskSkipped(`bash command exited with ${SKIP_EXIT_CODE}: task skipped`);
  if (code !== 0) throw new BashCommandError(`bash command failed with exit code ${code}`);
  return last === null ? null : last.replace(/\r$/, "");
}
