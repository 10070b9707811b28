/** The orchestrator-side files of a try that every launch prepares first. */
import { closeSync, mkdirSync, openSync } from "node:fs";
import type { LaunchRequest } from "./types.js";

/**
 * Creates the try's private folder, its scratch folder, and empty raw-log and events files: both files exist from
 * the start, as with every backend, so readers can follow them at once.
 */
export function prepareTryFiles(request: Pick<LaunchRequest, "tryDir" | "scratchDir" | "rawLogPath" | "eventsPath">): void {
  mkdirSync(request.tryDir, { recursive: true, mode: 0o700 });
  mkdirSync(request.scratchDir, { recursive: true });
  for (const file of [request.rawLogPath, request.eventsPath]) closeSync(openSync(file, "a", 0o600));
}
