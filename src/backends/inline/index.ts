/**
 * The `inline` backend, for `airlock dags test` only: runs the task inside the orchestrator process for easy
 * debugging (breakpoints, console). No isolation at all; tries run one at a time so their output stays apart.
 */
import { appendFileSync, closeSync, mkdirSync, openSync } from "node:fs";
import { AIRLOCK_DIST } from "../../core/install.js";
import { EventChannel } from "../../runner/channel.js";
import { runTask } from "../../runner/execute.js";
import type { Backend, ExitInfo, RunningTry } from "../types.js";

let queue: Promise<unknown> = Promise.resolve();

/** Creates the inline backend. */
export function createInlineBackend(): Backend {
  return {
    name: "inline",
    async check() {
      return { ok: true };
    },
    async launch(request): Promise<RunningTry> {
      const run = async (): Promise<ExitInfo> => {
        mkdirSync(request.tryDir, { recursive: true, mode: 0o700 });
        mkdirSync(request.scratchDir, { recursive: true });
        const eventsFd = openSync(request.eventsPath, "a", 0o600);
        const out = process.stdout.write.bind(process.stdout);
        const err = process.stderr.write.bind(process.stderr);
        const capture = (chunk: string | Uint8Array, ...rest: unknown[]) => {
          appendFileSync(request.rawLogPath, chunk);
          const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
          cb?.();
          return true;
        };
        process.stdout.write = capture as typeof process.stdout.write;
        process.stderr.write = capture as typeof process.stderr.write;
        try {
          const code = await runTask(request.payload, new EventChannel(request.payload.nonce, eventsFd), AIRLOCK_DIST);
          return { code, signal: null };
        } finally {
          process.stdout.write = out;
          process.stderr.write = err;
          closeSync(eventsFd);
        }
      };
      const exited = queue.then(run, run);
      queue = exited.catch(() => undefined);
      return {
        handle: { backend: "inline", pid: process.pid },
        exited,
        async kill() {
          // Code running in this process cannot be stopped from outside; dags test ends when it returns.
        },
      };
    },
    async adopt() {
      return null;
    },
    async close() {},
  };
}
