/**
 * Fixtures for docker backend suites: the runner bundled into a temp `dist/` (as the build does), and launch
 * requests made by hand the way the executor makes them.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { LaunchRequest } from "../../src/backends/types.js";
import { PROTOCOL_VERSION, type TaskPayload } from "../../src/runner/protocol.js";
import type { SerializedTask } from "../../src/sdk/serialized.js";
import type { Resources } from "../../src/sdk/types.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Bundles the runner, its hooks and the SDK into `<tmp>/dist` next to a package.json; returns the dist folder. */
export async function bundleRunner(): Promise<{ distDir: string; cleanup: () => void }> {
  const top = mkdtempSync(path.join(os.tmpdir(), "airlock-dist-"));
  const distDir = path.join(top, "dist");
  mkdirSync(distDir);
  writeFileSync(path.join(top, "package.json"), JSON.stringify({ name: "airlock", type: "module" }));
  const common = {
    bundle: true, platform: "node" as const, format: "esm" as const, target: "node18", logLevel: "warning" as const,
    banner: { js: "import { createRequire as __airlockRequire } from 'node:module'; const require = __airlockRequire(import.meta.url);" },
  };
  await build({ ...common, entryPoints: [path.join(ROOT, "src/runner/main.ts")], outfile: path.join(distDir, "runner.mjs") });
  await build({ ...common, entryPoints: [path.join(ROOT, "src/runner/hooks.ts")], outfile: path.join(distDir, "runner-hooks.mjs") });
  await build({ ...common, entryPoints: [path.join(ROOT, "src/sdk/index.ts")], outfile: path.join(distDir, "sdk", "index.js") });
  return { distDir, cleanup: () => rmSync(top, { recursive: true, force: true }) };
}

/** A serialized task with every default filled in. */
export function serializedTask(id: string, kind: SerializedTask["kind"], args: Record<string, unknown>, templateFields: string[] = []): SerializedTask {
  return {
    id, kind, args, templateFields, upstream: [], downstream: [], retries: 0, retryDelayMs: 0, retryExponentialBackoff: false,
    maxRetryDelayMs: null, executionTimeoutMs: null, triggerRule: "all_success", pool: "default", queue: "default",
    environment: null, backend: "docker", resources: null, network: "none", grants: { connections: [], variables: [] }, doc: null,
  };
}

/** Options of `launchRequest`. */
export interface RequestOptions {
  dagId: string;
  task: SerializedTask;
  tryNumber?: number;
  resources?: Resources | null;
  network?: "none" | "host";
  masks?: string[];
  environment?: LaunchRequest["environment"];
}

/** A launch request in a fresh try folder under `base`, as the executor builds it. */
export function launchRequest(base: string, o: RequestOptions): LaunchRequest {
  const runId = `manual__${randomBytes(4).toString("hex")}`;
  const tryNumber = o.tryNumber ?? 1;
  const tryDir = path.join(base, o.dagId, runId, o.task.id, String(tryNumber));
  const scratchDir = path.join(tryDir, "scratch");
  mkdirSync(scratchDir, { recursive: true });
  const payload: TaskPayload = {
    protocol: PROTOCOL_VERSION, dagId: o.dagId, taskId: o.task.id, runId, tryNumber, operator: o.task, dagModule: null,
    context: {
      params: {}, conf: {}, logicalDate: "2026-01-01T00:00:00.000Z", ds: "2026-01-01", ts: "2026-01-01T00:00:00+00:00",
      dataInterval: { start: "2026-01-01T00:00:00.000Z", end: "2026-01-02T00:00:00.000Z" }, timezone: "UTC", runType: "manual",
      scratchDir, environment: null,
    },
    inputs: { xcom: {} }, grants: { connections: {}, variables: {} }, masks: o.masks ?? [],
    nonce: randomBytes(16).toString("hex"),
  };
  return {
    key: { dagId: o.dagId, runId, taskId: o.task.id, tryNumber }, payload, tryDir,
    rawLogPath: path.join(tryDir, "output.log"), eventsPath: path.join(tryDir, "events.ndjson"), scratchDir,
    environment: o.environment ?? null, resources: o.resources ?? null, network: o.network ?? "none", readablePaths: [],
  };
}
