/** Store contract, task instances: compare-and-set transitions, single and batched, and listing by state. */
import { describe, expect, it } from "vitest";
import { newRun, uid, type ContractContext } from "./fixtures.js";

/** Registers the task-instance part of the contract. */
export function tasksContract(ctx: ContractContext): void {
  describe("task instances", () => {
    it("transitions only from the expected states, applying every patched field", async () => {
      const s = ctx.store();
      const dagId = uid("dag_");
      const run = newRun(dagId, { tasks: ["a"] });
      await s.createRun(run);
      const before = await s.latestChangeId();

      expect(await s.transitionTask(run.runId, "a", ["queued"], { state: "running" })).toBe(false);
      expect((await s.getTaskInstance(run.runId, "a"))?.state).toBe("none");
      expect(await s.transitionTask(run.runId, "a", ["none", "scheduled"], { state: "scheduled" })).toBe(true);
      expect(await s.transitionTask(run.runId, "a", ["none"], { state: "queued" })).toBe(false);

      const patch = {
        state: "queued" as const, queue: "gpu", notBefore: "2026-01-01T00:05:00.000Z", startDate: "2026-01-01T00:00:00.000Z",
        endDate: "2026-01-01T00:01:00.000Z", tryNumber: 4, isolation: "docker" as const, maxTries: 7,
      };
      expect(await s.transitionTask(run.runId, "a", ["scheduled"], patch)).toBe(true);
      const ti = await s.getTaskInstance(run.runId, "a");
      expect(ti).toMatchObject({ state: "queued", queue: "gpu", notBefore: patch.notBefore, startDate: patch.startDate, endDate: patch.endDate, tryNumber: 4, isolation: "docker", maxTries: 7 });

      // Fields left out of a patch are kept; null clears them. An empty `from` means any state.
      expect(await s.transitionTask(run.runId, "a", [], { state: "none", notBefore: null, isolation: null })).toBe(true);
      expect(await s.getTaskInstance(run.runId, "a")).toMatchObject({ state: "none", queue: "gpu", notBefore: null, isolation: null, tryNumber: 4, startDate: patch.startDate });
      expect(await s.transitionTask(run.runId, "missing", [], { state: "queued" })).toBe(false);
      expect(await s.transitionTask(uid("missing_"), "a", [], { state: "queued" })).toBe(false);
      expect(await s.getTaskInstance(run.runId, "missing")).toBeUndefined();

      const feed = (await s.listChangesSince(before)).map((c) => [c.kind, c.dagId, c.runId, c.taskId, c.tryNumber, c.state]);
      expect(feed).toEqual([
        ["task", dagId, run.runId, "a", 0, "scheduled"], ["task", dagId, run.runId, "a", 4, "queued"], ["task", dagId, run.runId, "a", 4, "none"],
      ]);
    });

    it("lets exactly one of many concurrent transitions from the same state win", async () => {
      const s = ctx.store();
      const other = await ctx.open();
      try {
        const run = newRun(uid("dag_"), { tasks: ["a"] });
        await s.createRun(run);
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) =>
          (i % 2 ? s : other).transitionTask(run.runId, "a", ["none"], { state: "scheduled", maxTries: i + 1 })));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await s.getTaskInstance(run.runId, "a"))?.maxTries).toBe(results.indexOf(true) + 1);
      } finally {
        await other.close();
      }
    });

    it("applies a batch of transitions and reports exactly those applied", async () => {
      const s = ctx.store();
      const run = newRun(uid("dag_"), { tasks: ["a", "b", "c", "d"] });
      await s.createRun(run);
      await s.transitionTask(run.runId, "c", ["none"], { state: "success" });
      const applied = await s.transitionTasks(run.runId, [
        { taskId: "a", from: ["none"], patch: { state: "scheduled" } },
        { taskId: "b", from: ["none"], patch: { state: "upstream_failed", endDate: "2026-01-01T00:00:00.000Z" } },
        { taskId: "c", from: ["none"], patch: { state: "scheduled" } },
        { taskId: "missing", from: [], patch: { state: "scheduled" } },
      ]);
      expect(applied.sort()).toEqual(["a", "b"]);
      const states = Object.fromEntries((await s.listTaskInstances(run.runId)).map((t) => [t.taskId, t.state]));
      expect(states).toEqual({ a: "scheduled", b: "upstream_failed", c: "success", d: "none" });
      expect((await s.getTaskInstance(run.runId, "b"))?.endDate).toBe("2026-01-01T00:00:00.000Z");
      expect(await s.transitionTasks(run.runId, [])).toEqual([]);
    });

    it("applies batches larger than one transaction chunk", async () => {
      const s = ctx.store();
      const run = newRun(uid("dag_"), { count: 1500 });
      await s.createRun(run);
      const ids = run.tasks.map((t) => t.taskId);
      const applied = await s.transitionTasks(run.runId, ids.map((taskId) => ({ taskId, from: ["none"], patch: { state: "scheduled" } })));
      expect(applied).toHaveLength(1500);
      expect((await s.listTaskInstances(run.runId)).every((t) => t.state === "scheduled")).toBe(true);
    });

    it("lists task instances by state across runs, up to a limit", async () => {
      const s = ctx.store();
      const run = newRun(uid("dag_"), { tasks: ["a", "b", "c"] });
      await s.createRun(run);
      // A state nothing else in the database is in: upstream_failed set by this test only, then read back.
      await s.transitionTasks(run.runId, ["a", "b", "c"].map((taskId) => ({ taskId, from: ["none"], patch: { state: "upstream_failed" } })));
      const mine = (await s.listTaskInstancesByState(["upstream_failed"])).filter((t) => t.runId === run.runId);
      expect(mine.map((t) => t.taskId).sort()).toEqual(["a", "b", "c"]);
      expect(await s.listTaskInstancesByState(["upstream_failed"], 2)).toHaveLength(2);
      expect(await s.listTaskInstancesByState([])).toEqual([]);
      const mixed = (await s.listTaskInstancesByState(["upstream_failed", "none"], 100_000)).filter((t) => t.runId === run.runId);
      expect(mixed).toHaveLength(3);
    });
  });
}
