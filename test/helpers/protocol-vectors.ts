/**
 * The shared task-protocol vectors of test/fixtures/protocol/: loading them, and running one against a runner
 * program (the Node or the Python runner) with the events on fd 3 or on nonce-tagged stdout.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EVENT_PREFIX, PROTOCOL_VERSION, type TaskEvent } from "../../src/runner/protocol.js";
import { ROOT } from "./project.js";

/** What a runner must do with a vector. */
export interface Expectation {
  exit: number;
  /** Partial matches of the events, in order. */
  events: Array<Record<string, unknown>>;
  /** Text the log (stdout + stderr without events) must contain. */
  log?: string;
  /** Lines the error event's stack must contain. */
  stack?: string[];
  /** The result file a by-reference result points to. */
  resultFile?: { size: number };
}

/** One vector file. */
export interface Vector {
  name: string;
  payload?: Record<string, unknown>;
  raw?: string;
  files?: Record<string, string>;
  expect: Partial<Record<"node" | "python", Expectation>>;
}

const DIR = path.join(ROOT, "test", "fixtures", "protocol");

/** The vectors that say what `runner` must do, by file name. */
export function vectorsFor(runner: "node" | "python"): Array<[string, Vector, Expectation]> {
  return readdirSync(DIR).filter((f) => f.endsWith(".json")).sort().flatMap((f) => {
    const v = JSON.parse(readFileSync(path.join(DIR, f), "utf8")) as Vector;
    const e = v.expect[runner];
    return e ? [[f, v, e] as [string, Vector, Expectation]] : [];
  });
}

/** What one run of a runner produced. */
export interface VectorRun {
  exit: number | null;
  events: TaskEvent[];
  log: string;
  scratchDir: string;
}

function basePayload(scratchDir: string, codeDir: string, nonce: string): Record<string, unknown> {
  return {
    protocol: PROTOCOL_VERSION, dagId: "d", taskId: "t", runId: "r", tryNumber: 1,
    operator: {
      id: "t", kind: "empty", args: {}, templateFields: [], upstream: [], downstream: [], retries: 0, retryDelayMs: 0,
      retryExponentialBackoff: false, maxRetryDelayMs: null, executionTimeoutMs: null, triggerRule: "all_success", pool: "default",
      queue: "default", environment: null, backend: null, resources: null, network: "none", grants: { connections: [], variables: [] }, doc: null,
    },
    dagModule: null, codeDir,
    context: {
      params: {}, conf: {}, logicalDate: "2026-01-02T00:00:00.000Z", ds: "2026-01-02", ts: "2026-01-02T00:00:00.000Z",
      dataInterval: { start: "2026-01-02T00:00:00.000Z", end: "2026-01-03T00:00:00.000Z" }, timezone: "UTC", runType: "manual",
      scratchDir, environment: null,
    },
    inputs: { xcom: {} }, grants: { connections: {}, variables: {} }, masks: [], nonce,
  };
}

/** Runs `command` with the vector's payload; `mode` chooses where the events travel. */
export async function runVector(command: string[], v: Vector, mode: "fd3" | "stdout"): Promise<VectorRun & { cleanup: () => void }> {
  const top = mkdtempSync(path.join(os.tmpdir(), "airlock-vector-"));
  const scratchDir = path.join(top, "scratch");
  const codeDir = path.join(top, "code");
  mkdirSync(scratchDir);
  for (const [file, text] of Object.entries(v.files ?? {})) {
    mkdirSync(path.dirname(path.join(codeDir, file)), { recursive: true });
    writeFileSync(path.join(codeDir, file), text);
  }
  const nonce = randomBytes(8).toString("hex");
  const base = basePayload(scratchDir, codeDir, nonce);
  const payload = v.raw ?? JSON.stringify({
    ...base, ...v.payload,
    operator: { ...(base.operator as object), ...((v.payload?.operator as object | undefined) ?? {}) },
  });
  const [cmd, ...args] = command as [string, ...string[]];
  const child = spawn(cmd, args, { cwd: scratchDir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratchDir }, stdio: ["pipe", "pipe", "pipe", mode === "fd3" ? "pipe" : "ignore"] });
  let out = "";
  let err = "";
  let fd3 = "";
  child.stdout?.on("data", (d: Buffer) => { out += d.toString(); });
  child.stderr?.on("data", (d: Buffer) => { err += d.toString(); });
  (child.stdio[3] as NodeJS.ReadableStream | null)?.on("data", (d: Buffer) => { fd3 += d.toString(); });
  child.stdin?.end(payload);
  const exit = await new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const tag = `${EVENT_PREFIX}${nonce}:`;
  const lines = mode === "fd3" ? fd3.split("\n") : out.split("\n").filter((l) => l.startsWith(tag)).map((l) => l.slice(tag.length));
  const log = (mode === "fd3" ? out : out.split("\n").filter((l) => !l.startsWith(tag)).join("\n")) + err;
  const events = lines.filter(Boolean).map((l) => JSON.parse(l) as TaskEvent).filter((e) => e.type !== "heartbeat");
  return { exit, events, log, scratchDir, cleanup: () => rmSync(top, { recursive: true, force: true }) };
}

/** Size of the result file a by-reference result names. */
export function resultFileSize(run: VectorRun, ref: string): number {
  return statSync(path.join(run.scratchDir, ref)).size;
}
