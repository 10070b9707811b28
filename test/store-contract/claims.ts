/** Store contract, claiming queued instances: queues, limits, pool slots, isolation, try rows and try numbers. */
import { describe, expect, it } from "vitest";
import { claimRequest, newRun, queueTasks, queuedRun, uid, type ContractContext } from "./fixtures.js";

/** Registers the claim part of the contract. */
export function claimsContract(ctx: ContractContext): void {
  describe("claimQueued", () => {
    it("claims queued instances of the requested queues only, creating a running try for each", async () => {
      const s = ctx.store();
      const { dagId, runId, queue, taskIds } = await queuedRun(s, { count: 3 });
      const elsewhere = await queuedRun(s, { count: 2 });
      const notQueued = newRun(dagId, { count: 2, queue });
      await s.createRun(notQueued);
      await s.transitionTask(runId, taskIds[2]!, ["queued"], { state: "queued", isolation: "docker" });
      const before = await s.latestChangeId();

      const claimed = await s.claimQueued(claimRequest([queue, uid("q_unused")], { workerId: "w-7", hostname: "node-a" }));
      expect(claimed.map((c) => c.taskId).sort()).toEqual(taskIds);
      for (const c of claimed) {
        expect(c).toMatchObject({ dagId, runId, tryNumber: 1, pool: "default", queue, isolation: c.taskId === taskIds[2] ? "docker" : "process" });
        const ti = await s.getTaskInstance(runId, c.taskId);
        expect(ti).toMatchObject({ state: "running", tryNumber: 1, isolation: c.isolation, endDate: null });
        expect(Date.parse(ti?.startDate ?? "")).not.toBeNaN();
        const t = await s.getTry({ runId, taskId: c.taskId, tryNumber: 1 });
        expect(t).toMatchObject({
          dagId, runId, taskId: c.taskId, tryNumber: 1, state: "running", isolation: c.isolation, workerId: "w-7", hostname: "node-a",
          handle: null, logPath: `logs/${dagId}/${runId}/${c.taskId}/1.log`, endedAt: null, exitCode: null, error: null,
        });
        expect(Date.parse(t?.startedAt ?? "")).not.toBeNaN();
      }
      const feed = (await s.listChangesSince(before)).map((c) => [c.kind, c.runId, c.taskId, c.tryNumber, c.state]);
      expect(feed.sort()).toEqual(taskIds.map((t) => ["task", runId, t, 1, "running"]));

      expect(await s.claimQueued(claimRequest([queue]))).toEqual([]);
      expect((await s.listTaskInstances(notQueued.runId)).every((t) => t.state === "none")).toBe(true);
      expect((await s.listTaskInstances(elsewhere.runId)).every((t) => t.state === "queued")).toBe(true);
      expect(await s.claimQueued(claimRequest([elsewhere.queue], { limit: 0 }))).toEqual([]);
      expect(await s.claimQueued(claimRequest([]))).toEqual([]);
    });

    it("claims at most `limit` instances per call and never the same instance twice", async () => {
      const s = ctx.store();
      const { runId, queue, taskIds } = await queuedRun(s, { count: 7 });
      const seen: string[] = [];
      for (let i = 0; i < 5; i++) {
        const batch = await s.claimQueued(claimRequest([queue], { limit: 3 }));
        expect(batch.length).toBeLessThanOrEqual(3);
        seen.push(...batch.map((c) => c.taskId));
      }
      expect(seen.sort()).toEqual(taskIds);
      expect((await s.listTaskInstances(runId)).every((t) => t.state === "running")).toBe(true);
    });

    it("respects pool slots, counting running instances of every queue, and frees a slot when a try ends", async () => {
      const s = ctx.store();
      const pool = uid("pool_");
      await s.setPool({ name: pool, slots: 2, description: null });
      const fast = await queuedRun(s, { count: 3, pool });
      const slow = await queuedRun(s, { count: 2, pool });

      const first = await s.claimQueued(claimRequest([fast.queue]));
      expect(first).toHaveLength(2);
      expect(await s.claimQueued(claimRequest([fast.queue, slow.queue]))).toEqual([]);

      const done = first[0]!;
      expect(await s.finishTry(done, { state: "success", taskState: "success", exitCode: 0, error: null })).toBe(true);
      const next = await s.claimQueued(claimRequest([fast.queue, slow.queue]));
      expect(next).toHaveLength(1);
      expect(await s.claimQueued(claimRequest([fast.queue, slow.queue]))).toEqual([]);

      await s.setPool({ name: pool, slots: 10, description: null });
      expect(await s.claimQueued(claimRequest([fast.queue, slow.queue]))).toHaveLength(2);
    });

    it("does not let a full pool's backlog starve queued instances of other pools", async () => {
      const s = ctx.store();
      const full = uid("pool_");
      await s.setPool({ name: full, slots: 1, description: null });
      const queue = uid("q_");
      const dagId = uid("dag_");
      const backlog = newRun(dagId, { count: 40, pool: full, queue });
      await s.createRun(backlog);
      await queueTasks(s, backlog.runId, backlog.tasks.map((t) => t.taskId));
      expect(await s.claimQueued(claimRequest([queue], { limit: 1 }))).toHaveLength(1);

      // Queued after the backlog, in a pool with room.
      const free = newRun(dagId, { count: 1, queue });
      await s.createRun(free);
      await queueTasks(s, free.runId, [free.tasks[0]!.taskId]);
      const claimed = await s.claimQueued(claimRequest([queue], { limit: 1 }));
      expect(claimed.map((c) => c.runId)).toEqual([free.runId]);
    });

    it("bumps the try number on each claim and keeps every try", async () => {
      const s = ctx.store();
      const { runId, queue, taskIds } = await queuedRun(s, { count: 1 });
      const taskId = taskIds[0]!;
      const [first] = await s.claimQueued(claimRequest([queue], { workerId: "w-1" }));
      expect(first?.tryNumber).toBe(1);
      await s.finishTry({ runId, taskId, tryNumber: 1 }, { state: "failed", taskState: "up_for_retry", exitCode: 1, error: { type: "Error", message: "boom" }, notBefore: "2026-01-01T00:10:00.000Z" });
      expect(await s.transitionTask(runId, taskId, ["up_for_retry"], { state: "queued", notBefore: null })).toBe(true);

      const [second] = await s.claimQueued(claimRequest([queue], { workerId: "w-2", hostname: "node-b" }));
      expect(second).toMatchObject({ runId, taskId, tryNumber: 2 });
      expect(await s.getTaskInstance(runId, taskId)).toMatchObject({ state: "running", tryNumber: 2 });
      const tries = await s.listTries(runId, taskId);
      expect(tries.map((t) => [t.tryNumber, t.state, t.workerId, t.hostname])).toEqual([[1, "failed", "w-1", "host-1"], [2, "running", "w-2", "node-b"]]);
      expect(tries[1]?.logPath).toMatch(/\/2\.log$/);
      expect(await s.listTries(runId, "missing")).toEqual([]);
    });
  });
}
