/**
 * Mapping at scale on SQLite: while `airlock standalone` expands a task into 10,000 instances and works through
 * them, its worker keeps heartbeating (heartbeats take the store's priority lane instead of queueing behind the
 * instances' claims, finishes and evaluations), so it is never declared lost and no try fails as worker lost. And
 * at the store level, a heartbeat issued behind a queue of heavy writes goes before them.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createProject, waitUntil, type Project } from "./helpers/project.js";
import { openStore } from "../src/store/index.js";

const WIDE = `import { dag, fn } from "airlock";
export default dag({ id: "wide", defaultArgs: { backend: "inline" } }, () => {
  const list = fn({ id: "list", run: async () => Array.from({ length: 10000 }, (_, i) => i) });
  fn({ id: "each", run: async (ctx) => ctx.item * 2 }).expand(list);
});
`;

const projects: Project[] = [];
afterAll(async () => {
  for (const p of projects) await p.cleanup();
});

describe("mapping at scale", () => {
  it("a worker stays live while 10,000 mapped instances are expanded, queued and run on SQLite", async () => {
    // Heartbeats every 100 ms, declared lost after 4 s of silence: far below what a heartbeat queued behind
    // thousands of instance writes waited before (more than 15 s).
    const project = createProject({ dags: { "wide.ts": WIDE }, config: { executor: { parallelism: 32, heartbeatMs: 100, workerTimeoutMs: 4000 } } });
    projects.push(project);
    const standalone = await project.startStandalone();
    try {
      const trigger = await project.cliJson<{ runId: string }>(["dags", "trigger", "wide", "--json"]);
      const db = new Database(project.dbPath, { readonly: true, fileMustExist: true });
      try {
        const count = (q: string) => Number((db.prepare(q).get() as { n: number }).n);
        const run = trigger.json.runId;
        await waitUntil("10,000 instances expanded", async () => (count(`select count(*) as n from task_instances where run_id = '${run}' and task_id = 'each'`) === 10_000 ? true : null), 300_000, 250);
        // Past the expansion, the queueing of all 10,000 and 500 claims and finishes.
        await waitUntil("500 instances done", async () => (count(`select count(*) as n from task_instances where run_id = '${run}' and task_id = 'each' and state = 'success'`) >= 500 ? true : null), 600_000, 250);
        expect(count("select count(*) as n from workers where state != 'live'")).toBe(0);
        expect(count("select count(*) as n from task_tries where error like '%WorkerLost%' or error like '%worker lost%'")).toBe(0);
        expect(count("select count(*) as n from task_tries where state = 'failed'")).toBe(0);
      } finally {
        db.close();
      }
      expect(standalone.output()).not.toMatch(/declared this worker lost|heartbeat failed/);
    } finally {
      await standalone.stop();
    }
  }, 1_000_000);

  it("a heartbeat goes before writes queued ahead of it on the SQLite store", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-lanes-"));
    const store = await openStore(`sqlite:${path.join(dir, "airlock.db")}`);
    try {
      await store.registerWorker({ workerId: "w1", hostname: "h", machine: "m", pid: 1, queues: ["default"], backends: ["process"], version: "0" });
      const order: string[] = [];
      // 200 writes queued on the store's one connection, then a heartbeat.
      const writes = Array.from({ length: 200 }, (_, i) => store.setVariable({ key: `v${i}`, valueEnc: "x".repeat(10_000), isSecret: false, description: null }).then(() => order.push(`write ${i}`)));
      const beat = store.heartbeatWorker("w1").then((state) => order.push(`heartbeat ${state}`));
      await Promise.all([...writes, beat]);
      const at = order.findIndex((o) => o.startsWith("heartbeat"));
      expect(order[at]).toBe("heartbeat live");
      // At most the write holding the connection when it asked went first.
      expect(at).toBeLessThanOrEqual(1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
