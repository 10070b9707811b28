/**
 * A worker of the store benchmark, in its own process with its own store handle: claims queued instances of one
 * queue in batches and ends each batch's tries in one write, until the queue stays empty. Prints "ready", waits
 * for a line on stdin (so that every worker starts at the same moment), then prints one JSON line.
 * Usage: transitions-worker.ts <store url> <queue> <workerId> <batch>
 */
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { ROOT } from "../lib.js";

const [url, queue, workerId, batchArg] = process.argv.slice(2);
if (!url || !queue || !workerId) throw new Error("usage: transitions-worker.ts <store url> <queue> <workerId> <batch>");
const { openStore } = (await import(pathToFileURL(path.join(ROOT, "dist", "store", "index.js")).href)) as typeof import("../../src/store/index.js");
const store = await openStore(url);
const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
await once(lines, "line");
lines.close();

const limit = Number(batchArg ?? 50);
const fence = { workerId, epoch: 0 };
let claimed = 0;
let statements = 0;
const cpu = process.cpuUsage();
for (let empty = 0; empty < 3; ) {
  const batch = await store.claimQueued({ workerId, hostname: `bench-${workerId}`, queues: [queue], limit, logPathOf: (c) => `logs/${c.runId}/${c.taskId}/${c.tryNumber}.log` });
  statements++;
  if (batch.length === 0) {
    empty++;
    await new Promise((r) => setTimeout(r, 2));
    continue;
  }
  empty = 0;
  claimed += batch.length;
  const ended = await store.finishTries(batch.map((c) => ({ key: c, fence, outcome: { state: "success" as const, taskState: "success" as const, exitCode: 0, error: null, xcomJson: "1" } })));
  statements++;
  if (ended.some((e) => !e)) throw new Error(`${workerId}: a try it claimed could not be ended`);
}
const used = process.cpuUsage(cpu);
await store.close();
process.stdout.write(`${JSON.stringify({ claimed, writes: statements, cpuMs: (used.user + used.system) / 1000 })}\n`);
