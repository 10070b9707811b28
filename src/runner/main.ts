/**
 * The runner: the one program that runs inside a task's environment. It reads the payload from stdin, runs the
 * operator, and reports through the events channel. It never talks to the store, the API or the config.
 */
import { closeSync, readFileSync, realpathSync, writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { EventChannel } from "./channel.js";
import { EXIT, runTask } from "./execute.js";
import { PROTOCOL_VERSION, type TaskPayload } from "./protocol.js";

/** The whole payload from stdin; read synchronously, which also keeps Node's stream machinery unloaded. */
function readStdin(): string {
  return readFileSync(0, "utf8");
}

/**
 * A warm runner (`--warm`) was started before its try was claimed: it waits here for the payload. End-of-file
 * without one means its pool ended it, or its orchestrator is gone: it leaves quietly.
 */
const WARM = process.argv.includes("--warm");

/** Tells the pool this runner is up (its sandbox is set up) on fd 5, which is closed before any task code runs. */
function signalReady(): void {
  try {
    writeSync(READY_FD, "1");
    closeSync(READY_FD);
  } catch {
    // Started by hand, without the pool's pipe.
  }
}

const READY_FD = 5;

/**
 * `--preload=<file>`: Airlock's own modules the task's DAG module will import (the SDK, at the path it resolves
 * "airlock" to), imported before the payload is read. A warm runner so has them loaded before its try is claimed;
 * any runner loads them without source maps (their frames are Airlock's, cut from stack traces anyway), which
 * halves their cost. Never a task's code: nothing a try runs executes before its payload.
 */
const PRELOAD = process.argv.filter((a) => a.startsWith("--preload=")).map((a) => a.slice("--preload=".length));

async function preload(): Promise<void> {
  for (const file of PRELOAD) {
    try {
      // The real path: the module cache is keyed by it, as Node resolves the DAG module's import of "airlock".
      await import(pathToFileURL(realpathSync(file)).href);
    } catch {
      // Not there (or not loadable here): the DAG module's own import will say why, as without preloading.
    }
  }
}

/** A reused runner (`--reuse`) serves many tries of one environment, one after another (see reuse.ts). */
const REUSE = process.argv.includes("--reuse");

async function main(): Promise<void> {
  await preload();
  // Compiled DAG modules carry inline source maps: stack traces of task code then name the DAG file and line.
  process.setSourceMapsEnabled(true);
  if (REUSE) {
    const { serveReused } = await import("./reuse.js");
    serveReused(path.dirname(fileURLToPath(import.meta.url)));
    return;
  }
  let payload: TaskPayload;
  try {
    if (WARM) signalReady();
    const text = readStdin();
    if (WARM && text.length === 0) process.exit(EXIT.ok);
    payload = JSON.parse(text) as TaskPayload;
  } catch (err) {
    process.stderr.write(`airlock runner: the payload on stdin is not JSON (${(err as Error).message}); the runner is started by the orchestrator, not by hand\n`);
    process.exit(EXIT.badPayload);
  }
  if (payload?.protocol !== PROTOCOL_VERSION) {
    process.stderr.write(`airlock runner: payload protocol ${String(payload?.protocol)} is not supported (this runner speaks ${PROTOCOL_VERSION}); rebuild the environment with this Airlock version\n`);
    process.exit(EXIT.badPayload);
  }
  if (WARM) {
    // The scratch folder was moved (process backend) or kept its sandbox path: HOME and TMPDIR follow the payload.
    process.env.HOME = process.env.TMPDIR = payload.context.scratchDir;
    process.chdir(payload.context.scratchDir);
  }
  const channel = new EventChannel(payload.nonce);
  setInterval(() => channel.emit({ type: "heartbeat", at: Date.now() }), 10_000).unref();
  // The bundle sits in dist/ next to runner-hooks.mjs and sdk/.
  const code = await runTask(payload, channel, path.dirname(fileURLToPath(import.meta.url)));
  process.exit(code);
}

await main();
