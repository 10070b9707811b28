/**
 * Docker benchmarks: the docker backend's cost per try against a raw `docker run` of the same image doing the
 * same work (goal: within 1.2×), and environment image build time, cold (a new key) and warm (the key exists).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createDockerBackend } from "../../src/backends/docker/index.js";
import { buildEnvironmentImage, ensureRuntimeImage } from "../../src/environments/targets/docker.js";
import { ensureDocker, removeImages } from "../../test/helpers/docker.js";
import { fakeEnvironmentBuild } from "../../test/helpers/docker-env.js";
import { bundleRunner, launchRequest, serializedTask } from "../../test/helpers/docker-runner.js";

import type { BenchRow } from "../lib.js";
import { tryFigures } from "../tries.js";

const SUITE = "docker";
const ROUNDS = 7;
const docker = { socketPath: null, host: null, registry: null, baseImage: null };

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const round = (n: number) => Math.round(n * 100) / 100;

async function overhead(): Promise<BenchRow[]> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-docker-"));
  const dist = await bundleRunner();
  try {
    const image = await ensureRuntimeImage({ docker });
    const config = { project: "airlock-bench", stateDir, environmentsFolder: stateDir, projectDir: stateDir, docker };
    const backend = createDockerBackend(config, { distDir: dist.distDir });
    const command = "echo hello; echo 42";
    const raw: number[] = [];
    const ours: number[] = [];
    // Interleaved rounds, after one warm-up of each, so engine caches favour neither side.
    for (let i = 0; i <= ROUNDS; i++) {
      let t0 = performance.now();
      execFileSync("docker", ["run", "--rm", "-i", "--network", "none", image, "bash", "-c", command], { input: "", stdio: ["pipe", "ignore", "inherit"] });
      if (i > 0) raw.push(performance.now() - t0);
      const request = launchRequest(stateDir, { dagId: "bench", task: serializedTask(`t${i}`, "bash", { command }) });
      t0 = performance.now();
      const exit = await (await backend.launch(request)).exited;
      if (i > 0) ours.push(performance.now() - t0);
      if (exit.code !== 0) throw new Error(`bench try failed: ${exit.detail ?? exit.code}`);
    }
    const r = median(raw);
    const o = median(ours);
    return [
      { suite: SUITE, name: "raw docker run (median)", value: round(r), unit: "ms" },
      { suite: SUITE, name: "docker backend try (median)", value: round(o), unit: "ms" },
      { suite: SUITE, name: "docker backend / raw docker run", value: round(o / r), unit: "x", goal: "<= 1.2" },
    ];
  } finally {
    dist.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function builds(): Promise<BenchRow[]> {
  const env = await fakeEnvironmentBuild("bench");
  // A dependency set no build has seen, so the cold build's layers cannot come from the engine's cache.
  writeFileSync(path.join(env.root, "node_modules", "greeting", "unique.txt"), randomBytes(16).toString("hex"));
  const config = { project: "airlock-bench", docker };
  const key = randomBytes(8).toString("hex");
  const spec = { name: "bench", packages: [], base: null };
  const build = { name: "bench", key, root: env.root, nodeBinary: null };
  try {
    let t0 = performance.now();
    const cold = await buildEnvironmentImage(config, spec, build);
    const coldMs = performance.now() - t0;
    t0 = performance.now();
    const warm = await buildEnvironmentImage(config, spec, build);
    const warmMs = performance.now() - t0;
    if (cold.cached || !warm.cached) throw new Error("expected a cold build then a cached one");
    await removeImages(ensureDocker(), [cold.image]);
    return [
      { suite: SUITE, name: "environment image build, cold", value: Math.round(coldMs), unit: "ms" },
      { suite: SUITE, name: "environment image build, warm (cached key)", value: Math.round(warmMs), unit: "ms" },
    ];
  } finally {
    await env.cleanup();
  }
}

/** Runs the suite. */
export async function run(): Promise<BenchRow[]> {
  ensureDocker();
  // Issue 14 through the whole orchestrator, warm launch off and on: the "on" rows say n/a while the docker backend
  // has no warm launch (its warm-up tries show none was handed to a waiting runner).
  const tries: BenchRow[] = [];
  for (const warm of [false, true]) {
    tries.push(...await tryFigures({
      suite: SUITE, backend: "docker", label: `warm launch ${warm ? "on" : "off"}`, executor: { warmLaunch: warm }, chain: 30, wide: 60,
      noWarmLaunch: "the docker backend has no warm launch (executor.warmLaunch covers process and sandbox): each try's container is created when the try launches",
    }));
  }
  return [...(await overhead()), ...tries, ...(await builds())];
}

// `npx tsx bench/suites/docker.ts` runs this suite alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const row of await run()) console.log(`${row.name}: ${row.value} ${row.unit}${row.goal ? ` (goal ${row.goal})` : ""}`);
}
