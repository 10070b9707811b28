/**
 * Store contract, batched writes: transitions that group into few statements but keep their one-by-one meaning,
 * claims of many instances across runs and DAGs in one call, and try completions written many at a time with every
 * try still guarded by its own state and fence.
 */
import { describe, expect, it } from "vitest";
import type { TryOutcome } from "../../src/store/store.js";
import { claimRequest, newRun, queueTasks, uid, type ContractContext } from "./fixtures.js";

const success = (xcom?: string): TryOutcome => ({ state: "success", taskState: "success", exitCode: 0, error: null, xcomJson: xcom ?? null });

/** Registers the batched-writes part of the contract. */
export function batchesContract(ctx: ContractContext): void {
  describe("batched writes", () => {
    it("groups a batch of transitions yet applies each item as if alone, repeated tasks in item order", async () => {
      const s = ctx.store();
      const run = newRun(uid("dag_"), { count: 1200 });
      await s.createRun(run);
      const ids = run.tasks.map((t) => t.taskId);
      await s.transitionTask(run.runId, ids[5]!, ["none"], { state: "success" });
      const before = await s.latestChangeId();
      const applied = await s.transitionTasks(run.runId, [
        ...ids.map((taskId, i) => ({ taskId, from: ["none" as const], patch: i % 2 ? { state: "queued" as const, isolation: "docker" as const, queue: "q_odd" } : { state: "scheduled" as const } })),
        // The same task again: sees the state the first item gave it.
        { taskId: ids[0]!, from: ["scheduled"], patch: { state: "queued", queue: "q_again" } },
        { taskId: ids[1]!, from: ["scheduled"], patch: { state: "skipped" } },
        { taskId: ids[0]!, from: ["queued"], patch: { state: "upstream_failed", endDate: "2026-02-01T00:00:00.000Z" } },
      ]);
      const expected = [...ids.filter((_, i) => i !== 5), ids[0]!, ids[0]!];
      expect(applied).toEqual(expected);
      const tis = new Map((await s.listTaskInstances(run.runId)).map((t) => [t.taskId, t]));
      expect(tis.get(ids[0]!)).toMatchObject({ state: "upstream_failed", queue: "q_again", endDate: "2026-02-01T00:00:00.000Z" });
      expect(tis.get(ids[1]!)).toMatchObject({ state: "queued", queue: "q_odd", isolation: "docker" });
      expect(tis.get(ids[2]!)).toMatchObject({ state: "scheduled", queue: "default", isolation: null });
      expect(tis.get(ids[5]!)?.state).toBe("success");
      // One change per applied item, in item order, with the instance's DAG and try number.
      const feed = await s.listChangesSince(before, 1000);
      const all = [...feed, ...(await s.listChangesSince(feed.at(-1)!.id, 1000))];
      expect(all.map((c) => c.taskId)).toEqual(expected);
      expect(all.every((c) => c.kind === "task" && c.dagId === run.dagId && c.runId === run.runId && c.tryNumber === 0)).toBe(true);
      expect(all.at(-1)?.state).toBe("upstream_failed");
    });

    it("claims many instances of several runs in one call, each once, with their tries and changes", async () => {
      const s = ctx.store();
      const queue = uid("q_");
      const runs = [newRun(uid("dag_"), { count: 30, queue }), newRun(uid("dag_"), { count: 30, queue }), newRun(uid("dag_"), { count: 30, queue })];
      for (const r of runs) {
        await s.createRun(r);
        await queueTasks(s, r.runId, r.tasks.map((t) => t.taskId));
      }
      await s.transitionTask(runs[0]!.runId, runs[0]!.tasks[0]!.taskId, ["queued"], { state: "queued", isolation: "sandbox" });
      const before = await s.latestChangeId();
      const claimed = await s.claimQueued(claimRequest([queue], { limit: 60, workerId: "w-batch" }));
      expect(claimed).toHaveLength(60);
      // Fair: each DAG got its share of the batch.
      for (const r of runs) expect(claimed.filter((c) => c.runId === r.runId)).toHaveLength(20);
      expect(new Set(claimed.map((c) => `${c.runId}/${c.taskId}`)).size).toBe(60);
      for (const c of claimed) {
        expect(await s.getTry(c)).toMatchObject({ state: "running", workerId: "w-batch", isolation: c.isolation, tryNumber: 1 });
        expect(await s.getTaskInstance(c.runId, c.taskId)).toMatchObject({ state: "running", tryNumber: 1, isolation: c.isolation });
      }
      const feed = await s.listChangesSince(before);
      expect(feed.map((c) => `${c.runId}/${c.taskId}/${c.tryNumber}/${c.state}`)).toEqual(claimed.map((c) => `${c.runId}/${c.taskId}/1/running`));
      const rest = await s.claimQueued(claimRequest([queue], { limit: 100 }));
      expect(rest).toHaveLength(30);
      const sealed = [...claimed, ...rest].filter((c) => c.isolation === "sandbox");
      expect(sealed.map((c) => [c.runId, c.taskId])).toEqual([[runs[0]!.runId, runs[0]!.tasks[0]!.taskId]]);
      expect(await s.claimQueued(claimRequest([queue], { limit: 100 }))).toEqual([]);
    });

    it("ends many tries at once, each guarded by its own state and fence, and reports each", async () => {
      const s = ctx.store();
      const queue = uid("q_");
      const run = newRun(uid("dag_"), { count: 8, queue, maxTries: 3 });
      await s.createRun(run);
      const ids = run.tasks.map((t) => t.taskId);
      await queueTasks(s, run.runId, ids);
      const owner = uid("w_");
      const claimed = await s.claimQueued(claimRequest([queue], { workerId: owner, limit: 8 }));
      expect(claimed).toHaveLength(8);
      const key = (i: number) => ({ runId: run.runId, taskId: ids[i]!, tryNumber: 1 });
      const mine = { workerId: owner, epoch: 0 };
      // Task 6 was adopted by another worker; task 7 was marked failed by hand while it ran.
      const adopted = await s.adoptTry(key(6), mine, { workerId: "other", hostname: "host-2" });
      expect(adopted).not.toBeNull();
      await s.transitionTask(run.runId, ids[7]!, ["running"], { state: "failed" });
      const error = { type: "Error", message: "boom" };
      const before = await s.latestChangeId();
      const ended = await s.finishTries([
        { key: key(0), outcome: success("\"zero\""), fence: mine },
        { key: key(1), outcome: success("1"), fence: mine },
        { key: key(2), outcome: { state: "failed", taskState: "up_for_retry", exitCode: 2, error, notBefore: "2030-01-01T00:00:00.000Z" }, fence: mine },
        { key: key(3), outcome: { state: "failed", taskState: "failed", exitCode: 1, error }, fence: mine },
        { key: key(4), outcome: { state: "skipped", taskState: "skipped", exitCode: 0, error: null } },
        { key: key(5), outcome: success(), fence: { workerId: owner, epoch: 1 } },
        { key: key(6), outcome: success("\"stale\""), fence: mine },
        { key: key(7), outcome: success("7"), fence: mine },
        { key: key(0), outcome: success("\"twice\""), fence: mine },
        { key: { ...key(1), tryNumber: 2 }, outcome: success() },
      ]);
      expect(ended).toEqual([true, true, true, true, true, false, false, true, false, false]);

      const tis = new Map((await s.listTaskInstances(run.runId)).map((t) => [t.taskId, t]));
      expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => tis.get(ids[i]!)?.state)).toEqual(["success", "success", "up_for_retry", "failed", "skipped", "running", "running", "failed"]);
      expect(tis.get(ids[2]!)).toMatchObject({ notBefore: "2030-01-01T00:00:00.000Z", endDate: null });
      expect(Date.parse(tis.get(ids[3]!)?.endDate ?? "")).not.toBeNaN();
      expect(await s.getTry(key(2))).toMatchObject({ state: "failed", exitCode: 2, error });
      expect(await s.getTry(key(5))).toMatchObject({ state: "running" });
      expect(await s.getTry(key(6))).toMatchObject({ state: "running", workerId: "other", epoch: 1 });
      expect(await s.getTry(key(7))).toMatchObject({ state: "success", exitCode: 0 });
      expect(await s.getXcoms(run.runId, ids)).toEqual(new Map([[ids[0]!, "\"zero\""], [ids[1]!, "1"], [ids[7]!, "7"]]));
      // One change per ended try, in item order; the marked instance keeps its state and the change says the try's.
      expect((await s.listChangesSince(before)).map((c) => [c.taskId, c.dagId, c.tryNumber, c.state])).toEqual([
        [ids[0], run.dagId, 1, "success"], [ids[1], run.dagId, 1, "success"], [ids[2], run.dagId, 1, "up_for_retry"],
        [ids[3], run.dagId, 1, "failed"], [ids[4], run.dagId, 1, "skipped"], [ids[7], run.dagId, 1, "success"],
      ]);
      expect(await s.finishTries([])).toEqual([]);
      expect(await s.finishTries([{ key: key(6), outcome: success(), fence: adopted! }])).toEqual([true]);
    });
  });
}
