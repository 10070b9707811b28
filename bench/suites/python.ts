/**
 * Python task benchmarks: the start overhead of a no-op python task on the process backend (its environment's venv
 * interpreter plus the Python runner) over a bare `python3 -c pass` (p50 and p95), and the build of the numpy2
 * example environment from its committed lock: cold (empty uv cache: downloads), warm (uv cache filled) and
 * unchanged (cached by key).
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createProcessBackend } from "../../src/backends/process/index.js";
import type { Backend, ResolvedEnvironment } from "../../src/backends/types.js";
import { buildEnvironment, ensureEnvironment } from "../../src/environments/index.js";
import { findInterpreter } from "../../src/environments/python/interpreter.js";
import { launchRequest, serializedTask } from "../../test/helpers/docker-runner.js";
import { makeProject } from "../../test/helpers/sandbox.js";
import { percentile, ROOT, type BenchRow } from "../lib.js";

const SUITE = "python";
const LAUNCHES = 30;
const round = (n: number) => Math.round(n * 100) / 100;

function bareMs(python: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(python, ["-c", "pass"], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", () => resolve(performance.now() - t0));
  });
}

async function tryMs(backend: Backend, base: string, codeDir: string, environment: ResolvedEnvironment, id: string): Promise<number> {
  const request = launchRequest(base, { dagId: "bench", task: serializedTask(id, "python", { callable: "noop.py:main", kwargs: {} }), environment });
  request.payload.codeDir = codeDir;
  const t0 = performance.now();
  const exit = await (await backend.launch(request)).exited;
  const ms = performance.now() - t0;
  if (exit.code !== 0) throw new Error(`no-op python try failed: ${exit.detail ?? `exit ${exit.code}`}`);
  return ms;
}

async function startOverhead(): Promise<BenchRow[]> {
  const project = await makeProject("airlock-bench-python-");
  const backend = createProcessBackend();
  try {
    mkdirSync(path.join(project.config.environmentsFolder, "empty"), { recursive: true });
    writeFileSync(path.join(project.config.environmentsFolder, "empty", "requirements.txt"), "# no packages\n");
    const environment = await ensureEnvironment(project.config, "empty");
    const codeDir = path.join(project.dir, "code");
    mkdirSync(codeDir);
    writeFileSync(path.join(codeDir, "noop.py"), "def main(context):\n    return None\n");
    // The same interpreter the task runs on, so the difference is the runner and the protocol, not site-packages.
    const python = environment.python?.binary ?? findInterpreter(null, "bench").binary;
    const base = path.join(project.config.stateDir, "tries");
    const bare: number[] = [];
    const tries: number[] = [];
    // Interleaved after a warm-up, each try against the bare start just before it, so load drift cancels out.
    for (let i = 0; i <= LAUNCHES; i++) {
      const b = await bareMs(python);
      const t = await tryMs(backend, base, codeDir, environment, `t${i}`);
      if (i > 0) {
        bare.push(b);
        tries.push(t);
      }
    }
    const overhead = tries.map((t, i) => t - (bare[i] ?? 0));
    return [
      { suite: SUITE, name: "bare python3 -c pass (the venv's interpreter) p50", value: round(percentile(bare, 50)), unit: "ms" },
      { suite: SUITE, name: "python task no-op try (process) p50", value: round(percentile(tries, 50)), unit: "ms" },
      { suite: SUITE, name: "python task start overhead p50", value: round(percentile(overhead, 50)), unit: "ms" },
      { suite: SUITE, name: "python task start overhead p95", value: round(percentile(overhead, 95)), unit: "ms" },
    ];
  } finally {
    await backend.close();
    project.cleanup();
  }
}

async function builds(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const emptyCache = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-uv-cache-"));
  const saved = process.env.UV_CACHE_DIR;
  try {
    for (const [label, cache] of [["cold (empty uv cache)", emptyCache], ["warm (uv cache filled)", saved]] as const) {
      const project = await makeProject("airlock-bench-pybuild-");
      try {
        cpSync(path.join(ROOT, "examples", "environments", "numpy2"), path.join(project.config.environmentsFolder, "numpy2"), { recursive: true });
        if (cache === undefined) delete process.env.UV_CACHE_DIR;
        else process.env.UV_CACHE_DIR = cache;
        let t0 = performance.now();
        const first = await buildEnvironment(project.config, "numpy2");
        if (first.cached) throw new Error("the first build of a fresh project was cached");
        rows.push({ suite: SUITE, name: `numpy2 environment build, ${label}`, value: Math.round(performance.now() - t0), unit: "ms" });
        t0 = performance.now();
        const again = await buildEnvironment(project.config, "numpy2");
        if (!again.cached) throw new Error("an unchanged rebuild was not cached");
        if (label.startsWith("warm")) rows.push({ suite: SUITE, name: "numpy2 environment rebuild, unchanged", value: round(performance.now() - t0), unit: "ms" });
      } finally {
        project.cleanup();
      }
    }
  } finally {
    if (saved === undefined) delete process.env.UV_CACHE_DIR;
    else process.env.UV_CACHE_DIR = saved;
    rmSync(emptyCache, { recursive: true, force: true });
  }
  return rows;
}

/** Runs the suite. */
export async function run(): Promise<BenchRow[]> {
  return [...(await startOverhead()), ...(await builds())];
}
