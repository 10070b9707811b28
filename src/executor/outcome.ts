/** Reads a finished try's events and decides how it ended. Only the events channel can declare a result. */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { decodeEvent, type ProtocolError, type TaskEvent } from "../runner/protocol.js";
import type { ExitInfo } from "../backends/types.js";

/** How a try ended, before retries are considered. */
export type TryResult =
  | { kind: "success"; xcomJson: string; branch: string[] | null }
  | { kind: "skipped"; reason: string }
  | { kind: "failed"; error: ProtocolError }
  /** A sensor in mode "reschedule" poked without success: park it until its next poke. */
  | { kind: "reschedule"; reason: string };

/** Parses the events file; malformed lines and out-of-order sequence numbers are ignored. */
export function readEvents(eventsPath: string): TaskEvent[] {
  let text = "";
  try {
    text = readFileSync(eventsPath, "utf8");
  } catch {
    return [];
  }
  return parseEvents(text.split("\n"));
}

/** The valid events of NDJSON lines, in order, each sequence number once. */
export function parseEvents(lines: readonly string[]): TaskEvent[] {
  const out: TaskEvent[] = [];
  let last = 0;
  for (const line of lines) {
    if (!line) continue;
    const e = decodeEvent(line);
    if (!e || e.seq <= last) continue;
    last = e.seq;
    out.push(e);
  }
  return out;
}

/** Decides the result of a try from its events, its exit, and whether the orchestrator killed it. */
export function decide(input: { events: TaskEvent[]; exit: ExitInfo; scratchDir: string; killedFor: string | null; memoryLimitMiB?: number | null }): TryResult {
  const { events, exit } = input;
  if (input.killedFor) {
    // A worker that stopped its try because it lost touch with the store did so for the fleet: the try is retried.
    const type = input.killedFor.startsWith("execution timeout") ? "TaskTimeout" : input.killedFor.includes("shut down") ? "OrchestratorShutdown"
      : input.killedFor.includes("lost touch with the store") ? "WorkerLost" : input.killedFor.startsWith("scratch disk limit") ? "ScratchLimitExceeded" : "TaskKilled";
    return { kind: "failed", error: { type, message: input.killedFor } };
  }
  if (exit.oomKilled) {
    const limit = input.memoryLimitMiB ? ` (${input.memoryLimitMiB} MiB)` : "";
    const detail = exit.detail && !exit.detail.startsWith("memory limit exceeded") ? ` (${exit.detail})` : "";
    return { kind: "failed", error: { type: "MemoryLimitExceeded", message: `memory limit exceeded${limit}: the task was killed; raise resources.memory or make it use less${detail}` } };
  }
  const error = events.find((e) => e.type === "error");
  const result = events.find((e) => e.type === "result");
  const exitedBadly = exit.code !== null && exit.code !== 0;
  if (error && error.type === "error") return { kind: "failed", error: error.error };
  if (result && result.type === "result" && !exitedBadly) {
    if (result.skipped) return { kind: "skipped", reason: "the task asked to be skipped" };
    const v = result.value;
    if ("inline" in v) return { kind: "success", xcomJson: JSON.stringify(v.inline ?? null), branch: result.branch ?? null };
    const file = path.resolve(input.scratchDir, v.ref);
    if (!file.startsWith(path.resolve(input.scratchDir) + path.sep) || !existsSync(file)) {
      return { kind: "failed", error: { type: "ResultMissing", message: `the task's result file ${v.ref} is missing from its scratch directory` } };
    }
    const json = readFileSync(file, "utf8");
    if (createHash("sha256").update(json).digest("hex") !== v.sha256) {
      return { kind: "failed", error: { type: "ResultCorrupt", message: `the task's result file ${v.ref} does not match its checksum` } };
    }
    return { kind: "success", xcomJson: json, branch: result.branch ?? null };
  }
  const how = exit.signal ? `was killed by ${exit.signal}` : exit.code === null ? "ended" : `exited with code ${exit.code}`;
  return { kind: "failed", error: { type: "TaskExited", message: `the task ${how} without reporting a result${exit.detail ? ` (${exit.detail})` : ""}` } };
}
