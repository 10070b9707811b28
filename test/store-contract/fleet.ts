/**
 * Store contract, fleet scheduling: fair claims across DAGs, priority weight, maxActiveTasks, pool deletion and
 * occupancy, shipped log chunks, and change signals.
 */
import { describe, expect, it } from "vitest";
import { claimRequest, newRun, queueTasks, uid, type ContractContext } from "./fixtures.js";

/** Registers the fleet part of the contract. */
export function fleetContract(ctx: ContractContext): void {
  describe("fair claims", () => {
    it("gives a DAG queued after a large backlog of another DAG the next free slot", async () => {
      const s = ctx.store();
      const queue = uid("q_");
      const big = newRun(uid("big_"), { count: 60, queue });
      await s.createRun(big);
      await queueTasks(s, big.runId, big.tasks.map((t) => t.taskId));
      expect(await s.claimQueued(claimRequest([queue], { limit: 4 }))).toHaveLength(4);
      const small = newRun(uid("small_"), { count: 1, queue });
      await s.createRun(small);
      await queueTasks(s, small.runId, [small.tasks[0]!.taskId]);
      const [next] = await s.claimQueued(claimRequest([queue], { limit: 1 }));
      expect(next?.runId).toBe(small.runId);
    });

    it("shares one claim between DAGs, and orders a DAG's tasks by priority weight, then by queue time", async () => {
      const s = ctx.store();
      const queue = uid("q_");
      const a = newRun(uid("a_"), { tasks: ["low", "high", "mid"], queue });
      a.tasks = a.tasks.map((t) => ({ ...t, priorityWeight: t.taskId === "high" ? 10 : t.taskId === "mid" ? 5 : 1 }));
      const b = newRun(uid("b_"), { count: 3, queue });
      for (const r of [a, b]) {
        await s.createRun(r);
        await queueTasks(s, r.runId, r.tasks.map((t) => t.taskId));
      }
      const first = await s.claimQueued(claimRequest([queue], { limit: 2 }));
      expect(first.map((c) => c.runId).sort()).toEqual([a.runId, b.runId].sort());
      expect(first.find((c) => c.runId === a.runId)?.taskId).toBe("high");
      const rest = await s.claimQueued(claimRequest([queue], { limit: 10 }));
      expect(rest.filter((c) => c.runId === a.runId).map((c) => c.taskId)).toEqual(["mid", "low"]);
    });

    it("never runs more instances of a DAG than its maxActiveTasks, across runs and claims", async () => {
      const s = ctx.store();
      const queue = uid("q_");
      const dagId = uid("bounded_");
      const runs = [newRun(dagId, { count: 4, queue }), newRun(dagId, { count: 4, queue, logicalDate: "2026-01-02T00:00:00.000Z" })];
      for (const r of runs) {
        r.maxActiveTasks = 3;
        await s.createRun(r);
        await s.setRunState(r.runId, "running");
        await queueTasks(s, r.runId, r.tasks.map((t) => t.taskId));
      }
      expect(await s.claimQueued(claimRequest([queue], { limit: 2 }))).toHaveLength(2);
      const second = await s.claimQueued(claimRequest([queue], { limit: 10, workerId: "w-2" }));
      expect(second).toHaveLength(1);
      await s.finishTry(second[0]!, { state: "success", taskState: "success", exitCode: 0, error: null });
      expect(await s.claimQueued(claimRequest([queue], { limit: 10 }))).toHaveLength(1);
    });
  });

  describe("pools", () => {
    it("reports occupancy per pool and deletes pools", async () => {
      const s = ctx.store();
      const pool = uid("pool_");
      await s.setPool({ name: pool, slots: 5, description: "etl" });
      const queue = uid("q_");
      const run = newRun(uid("dag_"), { count: 3, queue, pool });
      await s.createRun(run);
      await queueTasks(s, run.runId, run.tasks.map((t) => t.taskId));
      await s.claimQueued(claimRequest([queue], { limit: 1 }));
      expect((await s.poolUsage()).find((p) => p.name === pool)).toEqual({ name: pool, slots: 5, description: "etl", running: 1, queued: 2, defined: true });
      const ghost = uid("ghost_");
      const other = newRun(uid("dag_"), { count: 1, queue: uid("q_"), pool: ghost });
      await s.createRun(other);
      await queueTasks(s, other.runId, [other.tasks[0]!.taskId]);
      expect((await s.poolUsage()).find((p) => p.name === ghost)).toMatchObject({ defined: false, queued: 1 });
      expect(await s.deletePool(pool)).toBe(true);
      expect(await s.deletePool(pool)).toBe(false);
      expect((await s.listPools()).some((p) => p.name === pool)).toBe(false);
    });
  });

  describe("shipped logs", () => {
    it("stores chunks by byte offset and reads them back from any offset, whole lines first", async () => {
      const s = ctx.store();
      const key = { runId: uid("run_"), taskId: "t", tryNumber: 1 };
      expect(await s.readLogChunks(key, 0, 1000)).toEqual({ text: "", nextOffset: 0, size: 0, times: [] });
      await s.appendLogChunk(key, 0, "héllo\nwor");
      const first = Buffer.byteLength("héllo\nwor");
      await s.appendLogChunk(key, first, "ld\nlast\n");
      const all = await s.readLogChunks(key, 0, 1 << 20);
      expect(all).toEqual({ text: "héllo\nworld\nlast\n", nextOffset: Buffer.byteLength("héllo\nworld\nlast\n"), size: Buffer.byteLength("héllo\nworld\nlast\n"), times: [] });
      const fromWorld = await s.readLogChunks(key, Buffer.byteLength("héllo\n"), 1 << 20);
      expect(fromWorld.text).toBe("world\nlast\n");
      const limited = await s.readLogChunks(key, 0, 10);
      expect(limited.text).toBe("héllo\n");
      // A retried append at the same offset replaces rather than duplicates.
      await s.appendLogChunk(key, first, "ld\nlast\n");
      expect((await s.readLogChunks(key, 0, 1 << 20)).text).toBe("héllo\nworld\nlast\n");
      await s.resetLogChunks(key);
      expect((await s.readLogChunks(key, 0, 1000)).size).toBe(0);
    });

    it("keeps when each part was written and gives a read the mark in force at its start", async () => {
      const s = ctx.store();
      const key = { runId: uid("run_"), taskId: "t", tryNumber: 1 };
      // Piece one: "a\n" at t=1000, "b\n" at t=2000; piece two: "c\n" at t=3000.
      await s.appendLogChunk(key, 0, "a\nb\n", [{ offset: 0, ms: 1000 }, { offset: 2, ms: 2000 }]);
      await s.appendLogChunk(key, 4, "c\n", [{ offset: 4, ms: 3000 }]);
      expect((await s.readLogChunks(key, 0, 1 << 20)).times).toEqual([{ offset: 0, ms: 1000 }, { offset: 2, ms: 2000 }, { offset: 4, ms: 3000 }]);
      // From inside the first piece: the mark in force there comes first.
      expect((await s.readLogChunks(key, 3, 1 << 20)).times).toEqual([{ offset: 2, ms: 2000 }, { offset: 4, ms: 3000 }]);
      // A read that ends before the second piece does not return its mark.
      expect((await s.readLogChunks(key, 0, 4)).times).toEqual([{ offset: 0, ms: 1000 }, { offset: 2, ms: 2000 }]);
    });
  });

  describe("change signals", () => {
    it("signals a watcher when another handle commits a change-feed row", async () => {
      const s = ctx.store();
      const other = await ctx.open();
      try {
        let signalled!: () => void;
        const got = new Promise<void>((r) => (signalled = r));
        const stop = await s.watchChanges(() => signalled());
        const dagId = uid("dag_");
        await other.createRun(newRun(dagId, { count: 1 }));
        await got;
        await stop();
      } finally {
        await other.close();
      }
    });
  });
}
