/**
 * Store contract, task mapping and deferred triggers: expanding a task into mapped instances (and an empty list
 * into a skip), each instance with its own claim, try, XCom and shipped log, the list XCom in map-index order,
 * maxActiveTisPerDag in claims, failing an unrunnable instance with a visible reason, collapsing on clear, and
 * triggers that are deferred, owned, taken over from a worker that is no longer live, and completed once.
 */
import { describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.js";
import { claimRequest, newRun, uid, type ContractContext } from "./fixtures.js";

async function mappedRun(s: Store, count: number, options: { maxActiveTis?: number } = {}): Promise<{ dagId: string; runId: string; queue: string }> {
  const dagId = uid("dag_");
  const queue = uid("q_");
  const run = newRun(dagId, { tasks: ["list", "each"], queue });
  run.tasks = run.tasks.map((t) => (t.taskId === "each" ? { ...t, maxActiveTis: options.maxActiveTis ?? null } : t));
  expect(await s.createRun(run)).toBe(true);
  expect(await s.expandTask(run.runId, "each", count, ["none"])).toBe(true);
  return { dagId, runId: run.runId, queue };
}

const queueAll = async (s: Store, runId: string, count: number) => {
  const items = Array.from({ length: count }, (_, i) => ({ taskId: "each", mapIndex: i, from: ["none" as const], patch: { state: "queued" as const } }));
  expect(await s.transitionTasks(runId, items)).toHaveLength(count);
};

/** Registers the mapping and trigger part of the contract. */
export function mappingContract(ctx: ContractContext): void {
  describe("task mapping", () => {
    it("expands a task into instances with their own tries, XComs and logs; a pull of it is the list in map-index order", async () => {
      const s = ctx.store();
      const { runId, queue } = await mappedRun(s, 3);
      // Expanding twice is refused: the unexpanded instance is gone.
      expect(await s.expandTask(runId, "each", 3, ["none"])).toBe(false);
      const tis = (await s.listTaskInstances(runId)).filter((t) => t.taskId === "each");
      expect(tis.map((t) => [t.mapIndex, t.state, t.maxTries]).sort()).toEqual([[0, "none", 2], [1, "none", 2], [2, "none", 2]]);
      expect(await s.getTaskInstance(runId, "each")).toBeUndefined();
      await queueAll(s, runId, 3);
      const claimed = await s.claimQueued(claimRequest([queue]));
      expect(claimed.map((c) => c.mapIndex).sort()).toEqual([0, 1, 2]);
      // Finish them out of order: the list still comes back in map-index order.
      for (const i of [2, 0, 1]) {
        const key = { runId, taskId: "each", mapIndex: i, tryNumber: 1 };
        await s.appendLogChunk(key, 0, `instance ${i}\n`);
        expect(await s.finishTry(key, { state: "success", taskState: "success", exitCode: 0, error: null, xcomJson: JSON.stringify(`r${i}`) })).toBe(true);
      }
      expect(await s.getXcom(runId, "each")).toBe('["r0","r1","r2"]');
      expect((await s.getXcoms(runId, ["each", "list"])).get("each")).toBe('["r0","r1","r2"]');
      expect([...(await s.listInstanceXcoms(runId, "each")).entries()].sort()).toEqual([[0, '"r0"'], [1, '"r1"'], [2, '"r2"']]);
      expect((await s.readLogChunks({ runId, taskId: "each", mapIndex: 1, tryNumber: 1 }, 0, 100)).text).toBe("instance 1\n");
      expect(await s.listTries(runId, "each", 2)).toMatchObject([{ mapIndex: 2, tryNumber: 1, state: "success" }]);
      expect(await s.getTaskInstance(runId, "each", 1)).toMatchObject({ mapIndex: 1, state: "success" });
    });

    it("skips a task mapped over an empty list; fails an unrunnable one with a try that says why", async () => {
      const s = ctx.store();
      const run = newRun(uid("dag_"), { tasks: ["each", "other"] });
      await s.createRun(run);
      expect(await s.expandTask(run.runId, "each", 0, ["none"])).toBe(true);
      expect(await s.getTaskInstance(run.runId, "each")).toMatchObject({ mapIndex: -1, state: "skipped" });
      const error = { type: "MappingError", message: "not a list" };
      expect(await s.failUnrunnable(run.runId, { taskId: "other" }, ["none"], error)).toBe(true);
      expect(await s.failUnrunnable(run.runId, { taskId: "other" }, ["none"], error)).toBe(false);
      expect(await s.getTaskInstance(run.runId, "other")).toMatchObject({ state: "failed", tryNumber: 1 });
      expect(await s.listTries(run.runId, "other")).toMatchObject([{ state: "failed", error }]);
      expect((await s.readLogChunks({ runId: run.runId, taskId: "other", tryNumber: 1 }, 0, 1000)).text).toContain("MappingError: not a list");
    });

    it("bounds a task's running instances by maxActiveTisPerDag and collapses an expansion back to one instance", async () => {
      const s = ctx.store();
      const { runId, queue } = await mappedRun(s, 5, { maxActiveTis: 2 });
      await queueAll(s, runId, 5);
      expect(await s.claimQueued(claimRequest([queue]))).toHaveLength(2);
      expect(await s.claimQueued(claimRequest([queue]))).toHaveLength(0);
      const [first] = (await s.listTaskInstances(runId)).filter((t) => t.state === "running");
      await s.finishTry({ runId, taskId: "each", mapIndex: first?.mapIndex, tryNumber: 1 }, { state: "success", taskState: "success", exitCode: 0, error: null, xcomJson: "1" });
      expect(await s.claimQueued(claimRequest([queue]))).toHaveLength(1);
      await s.collapseTask(runId, "each");
      const left = (await s.listTaskInstances(runId)).filter((t) => t.taskId === "each");
      expect(left.map((t) => [t.mapIndex, t.state])).toEqual([[-1, "none"]]);
      expect(await s.getXcom(runId, "each")).toBeUndefined();
    });

    it("gives the scheduler's view of a run: unmapped and actionable mapped instances as rows, the others counted", async () => {
      const s = ctx.store();
      const { runId, queue } = await mappedRun(s, 6);
      expect(await s.transitionTasks(runId, [0, 1, 2, 3].map((i) => ({ taskId: "each", mapIndex: i, from: ["none" as const], patch: { state: "queued" as const } })))).toHaveLength(4);
      expect(await s.transitionTasks(runId, [{ taskId: "each", mapIndex: 4, from: ["none"], patch: { state: "up_for_retry" } }])).toHaveLength(1);
      const claimed = await s.claimQueued({ ...claimRequest([queue]), limit: 2 });
      expect(claimed).toHaveLength(2);
      await s.finishTry({ runId, taskId: "each", mapIndex: claimed[0]?.mapIndex, tryNumber: 1 }, { state: "success", taskState: "success", exitCode: 0, error: null, xcomJson: "1" });
      const view = await s.runInstancesView(runId);
      expect(view.instances.map((t) => `${t.taskId}[${t.mapIndex}] ${t.state}`).sort()).toEqual(["each[4] up_for_retry", "each[5] none", "list[-1] none"]);
      expect(view.counted.map((g) => [g.taskId, g.state, g.queue, g.count, g.tryNumber]).sort()).toEqual([
        ["each", "queued", queue, 2, 0], ["each", "running", queue, 1, 1], ["each", "success", queue, 1, 1],
      ]);
      expect(view.counted.find((g) => g.state === "success")?.endDate).not.toBeNull();
      // Of some tasks only (what the scheduler reads after one try's end): those tasks' rows and counts alone.
      const some = await s.runInstancesView(runId, ["list"]);
      expect(some.instances.map((t) => `${t.taskId}[${t.mapIndex}] ${t.state}`)).toEqual(["list[-1] none"]);
      expect(some.counted).toEqual([]);
      const each = await s.runInstancesView(runId, ["each"]);
      expect(each.instances.map((t) => `${t.taskId}[${t.mapIndex}]`).sort()).toEqual(["each[4]", "each[5]"]);
      expect(each.counted.map((g) => g.count).reduce((a, b) => a + b, 0)).toBe(4);
      expect(await s.runInstancesView(runId, [])).toEqual({ instances: [], counted: [] });
      expect(await s.hasUnfinishedTasks(runId)).toBe(true);
    });

    it("says whether a run has any unfinished instance", async () => {
      const s = ctx.store();
      const { runId } = await mappedRun(s, 2);
      expect(await s.hasUnfinishedTasks(runId)).toBe(true);
      const all = await s.listTaskInstances(runId);
      expect(await s.transitionTasks(runId, all.map((t) => ({ taskId: t.taskId, mapIndex: t.mapIndex, from: [t.state], patch: { state: "skipped" as const } })))).toHaveLength(all.length);
      expect(await s.hasUnfinishedTasks(runId)).toBe(false);
      expect(await s.hasUnfinishedTasks("no-such-run")).toBe(false);
    });
  });

  describe("deferred triggers", () => {
    it("parks a running try as deferred, is claimed by one owner, moves on from a lost owner and completes once", async () => {
      const s = ctx.store();
      const dagId = uid("dag_");
      const queue = uid("q_");
      const run = newRun(dagId, { tasks: ["wait"], queue });
      await s.createRun(run);
      await s.transitionTask(run.runId, "wait", ["none"], { state: "queued" });
      const workerA = uid("wa_");
      const workerB = uid("wb_");
      for (const w of [workerA, workerB]) await s.registerWorker({ workerId: w, hostname: "h", machine: "h", pid: 1, queues: [queue], backends: ["process"], version: "t" });
      await s.claimQueued(claimRequest([queue], { workerId: workerA }));
      const key = { dagId, runId: run.runId, taskId: "wait", tryNumber: 1 };
      expect(await s.deferTry(key, { kind: "time", at: "2026-01-01T00:00:00Z" }, workerA)).toBe(true);
      expect(await s.deferTry(key, { kind: "time" }, workerA)).toBe(false);
      expect(await s.getTaskInstance(run.runId, "wait")).toMatchObject({ state: "deferred" });
      expect(await s.getTry(key)).toMatchObject({ state: "deferred" });
      // A deferred instance holds no slot: it is not running.
      expect((await s.listTaskInstancesByState(["running"])).some((t) => t.runId === run.runId)).toBe(false);
      // Owned by A while A is live: B takes nothing of it.
      await s.claimTriggers(workerB);
      expect((await s.ownedTriggers(workerB)).some((t) => t.runId === run.runId)).toBe(false);
      expect((await s.ownedTriggers(workerA)).find((t) => t.runId === run.runId)).toMatchObject({ spec: { kind: "time" }, tryNumber: 1, mapIndex: -1 });
      await s.stopWorker(workerA);
      expect(await s.claimTriggers(workerB)).toBeGreaterThanOrEqual(1);
      expect((await s.ownedTriggers(workerB)).some((t) => t.runId === run.runId)).toBe(true);
      // The old owner's completion is refused; the new owner's applies once.
      const outcome = { state: "success" as const, taskState: "success" as const, exitCode: null, error: null, xcomJson: '"ok"' };
      expect(await s.completeTrigger(key, workerA, outcome)).toBe("lost");
      expect(await s.completeTrigger(key, workerB, outcome)).toBe("done");
      expect(await s.completeTrigger(key, workerB, outcome)).toBe("gone");
      expect(await s.getTaskInstance(run.runId, "wait")).toMatchObject({ state: "success" });
      expect(await s.getTry(key)).toMatchObject({ state: "success" });
      expect(await s.getXcom(run.runId, "wait")).toBe('"ok"');
    });
  });
}
