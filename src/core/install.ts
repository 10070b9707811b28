/** Where this Airlock installation's built files are (the runner, its hooks and the SDK). */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The package root (holds package.json, dist/, ui/). Works from src/ (tests) and dist/. */
export const AIRLOCK_ROOT = path.resolve(here, "..", "..");
/** The built `dist` folder: runner.mjs, runner-hooks.mjs and sdk/. Mounted read-only into sealed backends. */
export const AIRLOCK_DIST = path.join(AIRLOCK_ROOT, "dist");
/** The runner program. */
export const RUNNER_PATH = path.join(AIRLOCK_DIST, "runner.mjs");

/** This installation's version (package.json), e.g. "0.1.0"; "0.0.0" when the file cannot be read. */
export function airlockVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(AIRLOCK_ROOT, "package.json"), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "0.0.0";
  }
}
