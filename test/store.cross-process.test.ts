/**
 * The Store across real processes, on SQLite and on Postgres: processes that migrate a brand-new database at the
 * same moment, processes that claim the same queued task instances in a loop (one at a time, and in batches whose
 * tries end in batches and come back as retries), and a process that follows the change feed while others write to it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../src/store/index.js";
import { MIGRATIONS } from "../src/store/migrations.js";
import { runTogether } from "./helpers/fixture-process.js";
import { createTestDatabase, withPgClient, type TestDatabase } from "./helpers/postgres.js";
import { newRun, queueTasks, uid } from "./store-contract/fixtures.js";

const CLAIMERS = 4;
const INSTANCES = 200;
const ROUNDS = 5;
const TRIES = 3;
const FEED_WRITES = 300;

interface Dialect {
  name: string;
  /** A URL of a database nobody has opened yet. */
  fresh(): Promise<string>;
  migrationIds(url: string): Promise<number[]>;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "airlock-store-xproc-"));
const databases: TestDatabase[] = [];
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  for (const d of databases) await d.drop();
});

const sqlite: Dialect = {
  name: "sqlite",
  fresh: async () => `sqlite:${path.join(tmp, uid("db"), "airlock.db")}`,
  migrationIds: async (url) => {
    const db = new Database(url.slice("sqlite:".length), { readonly: true });
    try {
      return (db.prepare("select id from airlock_migrations order by id").all() as Array<{ id: number }>).map((r) => r.id);
    } finally {
      db.close();
    }
  },
};

const postgres: Dialect = {
  name: "postgres",
  fresh: async () => {
    const d = await createTestDatabase("airlock_x");
    databases.push(d);
    return d.url;
  },
  migrationIds: (url) => withPgClient(url, async (c) => (await c.query<{ id: number }>("select id from airlock_migrations order by id")).rows.map((r) => Number(r.id))),
};

for (const dialect of [sqlite, postgres]) {
  describe(`Store across processes: ${dialect.name}`, () => {
    it("lets two processes open and migrate a brand-new database at the same moment, applying each migration once", async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const url = await dialect.fresh();
        const results = await runTogether([0, 1].map(() => ({ fixture: "store-child.ts", args: ["migrate", url] })));
        expect(results.map((r) => r.json)).toEqual([{ migrated: true }, { migrated: true }]);
        expect(await dialect.migrationIds(url)).toEqual(MIGRATIONS.map((m) => m.id));
        const store = await openStore(url);
        try {
          expect((await store.listPools()).filter((p) => p.name === "default")).toHaveLength(1);
        } finally {
          await store.close();
        }
      }
    }, 300_000);

    it(`lets ${CLAIMERS} processes claim ${INSTANCES} queued instances in a loop, each exactly once`, async () => {
      const url = await dialect.fresh();
      const store = await openStore(url);
      try {
        const pool = uid("pool_");
        await store.setPool({ name: pool, slots: INSTANCES * 2, description: null });
        const queue = uid("q_");
        const run = newRun(uid("dag_"), { count: INSTANCES, pool, queue });
        expect(await store.createRun(run)).toBe(true);
        const taskIds = run.tasks.map((t) => t.taskId);
        await queueTasks(store, run.runId, taskIds);

        const workers = Array.from({ length: CLAIMERS }, (_, i) => `w${i}`);
        const results = await runTogether(workers.map((w) => ({ fixture: "store-child.ts", args: ["claim", url, queue, w] })));
        const byWorker = results.map((r) => (r.json as { claimed: string[] }).claimed);
        const all = byWorker.flat();
        const counts = `claims per process: ${byWorker.map((c) => c.length).join(", ")}`;
        expect(all.length, counts).toBe(INSTANCES);
        expect(new Set(all).size, `duplicates; ${counts}`).toBe(INSTANCES);
        expect([...all].sort()).toEqual(taskIds.map((t) => `${t}#1`));

        // The database agrees: every instance running its first try, owned by the process that reported it.
        const owner = new Map(byWorker.flatMap((claimed, i) => claimed.map((c) => [c.split("#")[0]!, workers[i]!] as const)));
        const tis = await store.listTaskInstances(run.runId);
        expect(tis.every((t) => t.state === "running" && t.tryNumber === 1)).toBe(true);
        const running = (await Promise.all(workers.map((w) => store.listRunningTries(`host-${w}`)))).flat().filter((t) => t.runId === run.runId);
        expect(running).toHaveLength(INSTANCES);
        for (const t of running) expect(t.workerId).toBe(owner.get(t.taskId));
      } finally {
        await store.close();
      }
    }, 300_000);

    it(`lets ${CLAIMERS} processes claim and end tries in batches, with retries re-queued meanwhile, each try owned once`, async () => {
      const url = await dialect.fresh();
      const store = await openStore(url);
      try {
        const queue = uid("q_");
        const run = newRun(uid("dag_"), { count: INSTANCES, queue, maxTries: TRIES });
        expect(await store.createRun(run)).toBe(true);
        const taskIds = run.tasks.map((t) => t.taskId);
        await queueTasks(store, run.runId, taskIds);

        const workers = Array.from({ length: CLAIMERS }, (_, i) => `b${i}`);
        const results = await runTogether(workers.map((w) => ({ fixture: "store-child.ts", args: ["churn", url, queue, w, run.runId, String(TRIES)] })));
        for (const r of results) expect(r.code, r.stderr).toBe(0);
        const byWorker = results.map((r) => (r.json as { claimed: string[] }).claimed);
        const all = byWorker.flat();
        const counts = `claims per process: ${byWorker.map((c) => c.length).join(", ")}`;
        expect(new Set(all).size, `duplicates; ${counts}`).toBe(all.length);
        expect([...all].sort(), counts).toEqual(taskIds.flatMap((t) => Array.from({ length: TRIES }, (_, i) => `${t}#${i + 1}`)).sort());

        // The database agrees: every try of every instance was run and ended by the process that reported it.
        const owner = new Map(byWorker.flatMap((claimed, i) => claimed.map((c) => [c, workers[i]!] as const)));
        for (const taskId of taskIds) {
          const tries = await store.listTries(run.runId, taskId);
          expect(tries.map((t) => [t.tryNumber, t.state, t.workerId])).toEqual(
            Array.from({ length: TRIES }, (_, i) => [i + 1, i + 1 < TRIES ? "failed" : "success", owner.get(`${taskId}#${i + 1}`)]));
        }
        expect((await store.listTaskInstances(run.runId)).every((t) => t.state === "success" && t.tryNumber === TRIES)).toBe(true);
      } finally {
        await store.close();
      }
    }, 300_000);

    it("lets a process following the change feed see every change other processes commit, none skipped", async () => {
      const url = await dialect.fresh();
      const writers = ["a", "b", "c"];
      const results = await runTogether([
        ...writers.map((w) => ({ fixture: "store-child.ts", args: ["write", url, w, String(FEED_WRITES)] })),
        { fixture: "store-child.ts", args: ["follow", url, String(writers.length)] },
      ]);
      const seen = (results.at(-1)?.json as { seen: number[] }).seen;
      const store = await openStore(url);
      try {
        const all: number[] = [];
        for (let page = await store.listChangesSince(0, 1000); page.length > 0; page = await store.listChangesSince(page.at(-1)!.id, 1000)) {
          all.push(...page.map((c) => c.id));
        }
        expect(all.length).toBeGreaterThanOrEqual(writers.length * (FEED_WRITES + 1));
        // A reader that moved its cursor past an id that committed later would never see it.
        const seenIds = new Set(seen);
        expect(all.filter((id) => !seenIds.has(id))).toEqual([]);
        expect(seen).toEqual([...seen].sort((x, y) => x - y));
      } finally {
        await store.close();
      }
    }, 300_000);
  });
}
