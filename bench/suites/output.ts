/**
 * Output handling in the orchestrator's event loop: the docker/kubernetes output demuxer fed 200 MB of 100-byte
 * lines in 64 KiB chunks (as the engine delivers them), with one secret to mask. Goals: at least 50 MB/s, and no
 * single chunk holding the event loop for more than 50 ms.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { OutputDemuxer } from "../../src/backends/docker/output.js";
import type { BenchRow } from "../lib.js";

const SUITE = "output";

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-demux-"));
  try {
    const demux = new OutputDemuxer({ rawLogPath: path.join(dir, "raw.log"), eventsPath: path.join(dir, "events.ndjson"), nonce: "bench-nonce", masks: ["bench-secret-value"] });
    const chunk = Buffer.from(`${"x".repeat(99)}\n`.repeat(655));
    const chunks = Math.round(200e6 / chunk.length);
    let longest = 0;
    const start = performance.now();
    for (let i = 0; i < chunks; i++) {
      const t = performance.now();
      demux.push("stdout", chunk);
      longest = Math.max(longest, performance.now() - t);
    }
    demux.close();
    const seconds = (performance.now() - start) / 1000;
    return [
      { suite: SUITE, name: "docker output demuxer throughput", value: Math.round((chunks * chunk.length) / 1e6 / seconds), unit: "MB/s", goal: ">= 50" },
      { suite: SUITE, name: "docker output demuxer longest chunk", value: Math.round(longest * 10) / 10, unit: "ms", goal: "<= 50" },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await run()) console.log(`${row.name}: ${row.value} ${row.unit}${row.goal ? ` (goal ${row.goal})` : ""}`);
}
