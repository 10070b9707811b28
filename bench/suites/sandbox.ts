/**
 * Sandbox and environment benchmarks: the sandbox backend's start overhead over the process backend (p50 and
 * p95 of no-op tries; goal 15 ms or less at p50), the time of an unchanged rebuild, and the cold build of an
 * environment with 20 small real dependencies (with an empty and with a warm npm cache).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createProcessBackend } from "../../src/backends/process/index.js";
import { createSandboxBackend } from "../../src/backends/sandbox/index.js";
import type { Backend } from "../../src/backends/types.js";
import { buildEnvironment } from "../../src/environments/index.js";
import { launchRequest, serializedTask } from "../../test/helpers/docker-runner.js";
import { makeProject } from "../../test/helpers/sandbox.js";
import { percentile, type BenchRow } from "../lib.js";
import { tryFigures } from "../tries.js";

const SUITE = "sandbox";
const LAUNCHES = 30;

/** Twenty small packages without dependencies of their own. */
const TWENTY = {
  "ms": "2.1.3", "is-number": "7.0.0", "kind-of": "6.0.3", "isobject": "3.0.1", "escape-string-regexp": "4.0.0",
  "camelcase": "6.3.0", "decamelize": "4.0.0", "has-flag": "4.0.0", "is-plain-obj": "2.1.0", "is-stream": "2.0.1",
  "p-try": "2.2.0", "path-exists": "4.0.0", "path-key": "3.1.1", "shebang-regex": "3.0.0", "strip-json-comments": "3.1.1",
  "yallist": "4.0.0", "balanced-match": "1.0.2", "color-name": "1.1.4", "fast-deep-equal": "3.1.3", "json-stable-stringify-without-jsonify": "1.0.1",
};

const round = (n: number) => Math.round(n * 100) / 100;

async function tryMs(backend: Backend, base: string, id: string): Promise<number> {
  const request = launchRequest(base, { dagId: "bench", task: serializedTask(id, "empty", {}) });
  const t0 = performance.now();
  const exit = await (await backend.launch(request)).exited;
  const ms = performance.now() - t0;
  if (exit.code !== 0) throw new Error(`no-op try on ${backend.name} failed: ${exit.detail ?? `exit ${exit.code}`}`);
  return ms;
}

async function startOverhead(): Promise<BenchRow[]> {
  const project = await makeProject("airlock-bench-sandbox-");
  const processBackend = createProcessBackend();
  const sandbox = createSandboxBackend(project.config);
  try {
    const check = await sandbox.check();
    if (!check.ok) throw new Error(check.hint);
    const base = path.join(project.config.stateDir, "tries");
    const plain: number[] = [];
    const sealed: number[] = [];
    // Interleaved, after a warm-up of each, so page cache and CPU frequency favour neither.
    for (let i = 0; i <= LAUNCHES; i++) {
      const p = await tryMs(processBackend, base, `p${i}`);
      const s = await tryMs(sandbox, base, `s${i}`);
      if (i > 0) {
        plain.push(p);
        sealed.push(s);
      }
    }
    // Each sandbox try against the process try launched just before it: load drift on a shared machine cancels out.
    const overhead = sealed.map((s, i) => s - (plain[i] ?? 0));
    return [
      { suite: SUITE, name: "process backend no-op try p50", value: round(percentile(plain, 50)), unit: "ms" },
      { suite: SUITE, name: "sandbox backend no-op try p50", value: round(percentile(sealed, 50)), unit: "ms" },
      { suite: SUITE, name: "sandbox start overhead p50", value: round(percentile(overhead, 50)), unit: "ms", goal: "<= 15" },
      { suite: SUITE, name: "sandbox start overhead p95", value: round(percentile(overhead, 95)), unit: "ms" },
    ];
  } finally {
    await sandbox.close();
    await processBackend.close();
    project.cleanup();
  }
}

async function builds(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const emptyCache = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-npm-cache-"));
  const saved = process.env.npm_config_cache;
  for (const [label, cache] of [["empty npm cache", emptyCache], ["warm npm cache", saved]] as const) {
    const project = await makeProject("airlock-bench-build-");
    try {
      project.addEnvironment("twenty", TWENTY);
      if (cache) process.env.npm_config_cache = cache;
      else delete process.env.npm_config_cache;
      const t0 = performance.now();
      const first = await buildEnvironment(project.config, "twenty");
      rows.push({ suite: SUITE, name: `cold build, 20 dependencies (${label})`, value: round(performance.now() - t0), unit: "ms" });
      if (first.cached) throw new Error("the cold build was cached");
      if (label === "warm npm cache") {
        const noop: number[] = [];
        for (let i = 0; i < 10; i++) {
          const t1 = performance.now();
          const again = await buildEnvironment(project.config, "twenty");
          noop.push(performance.now() - t1);
          if (!again.cached) throw new Error("an unchanged rebuild installed again");
        }
        rows.push({ suite: SUITE, name: "unchanged rebuild (no-op) p50", value: round(percentile(noop, 50)), unit: "ms", goal: "< 1000" });
      }
    } finally {
      if (saved === undefined) delete process.env.npm_config_cache;
      else process.env.npm_config_cache = saved;
      project.cleanup();
    }
  }
  rmSync(emptyCache, { recursive: true, force: true });
  return rows;
}

/** Runs the suite. */
export async function run(): Promise<BenchRow[]> {
  const rows = [...(await startOverhead())];
  // Issue 14 through the whole orchestrator: chain overhead, independent tasks/s, orchestrator CPU per try.
  for (const warm of [false, true]) {
    rows.push(...await tryFigures({
      suite: SUITE, backend: "sandbox", label: `warm launch ${warm ? "on" : "off"}`, executor: { warmLaunch: warm }, profile: warm,
      goals: warm ? { chain: "<= 10 ms", wide: ">= 40 tasks/s" } : { chain: "none (<= 10 ms is for warm on)", wide: ">= 40 tasks/s" },
    }));
  }
  // Issue 14 point 3 on the sandbox: tries with reuse: true run in long-lived sandboxes (one per key).
  rows.push(...await tryFigures({
    suite: SUITE, backend: "sandbox", label: "reuse on sqlite", taskOptions: { reuse: true }, wide: 1000, profile: true,
    goals: { chain: "<= 10 ms", wide: ">= 1000 tasks/s" },
  }));
  return [...rows, ...(await builds())];
}
