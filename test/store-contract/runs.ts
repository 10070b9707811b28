/** Store contract, runs: atomic creation, listing, latest scheduled run, active counts and conditional states. */
import { describe, expect, it } from "vitest";
import { newRun, uid, type ContractContext } from "./fixtures.js";

const day = (d: number): string => new Date(Date.UTC(2026, 0, d)).toISOString();

/** Registers the run part of the contract. */
export function runsContract(ctx: ContractContext): void {
  describe("runs", () => {
    it("creates a run with its task instances, and refuses a second run with the same id", async () => {
      const s = ctx.store();
      const dagId = uid("dag_");
      const run = { ...newRun(dagId, { tasks: ["a", "b"], runType: "scheduled", logicalDate: day(3), pool: "etl", queue: "fast", maxTries: 3 }), conf: { nested: { x: [1, "two", null] } }, params: { name: "wörld" } };
      const before = await s.latestChangeId();
      expect(await s.createRun(run)).toBe(true);

      const got = await s.getRun(run.runId);
      expect(got).toMatchObject({
        runId: run.runId, dagId, runType: "scheduled", state: "queued", logicalDate: day(3), dataIntervalStart: day(3), dataIntervalEnd: day(3),
        conf: { nested: { x: [1, "two", null] } }, params: { name: "wörld" }, versionHash: `v-${dagId}`, startDate: null, endDate: null,
      });
      expect(Date.parse(got?.createdAt ?? "")).not.toBeNaN();
      const tis = (await s.listTaskInstances(run.runId)).sort((x, y) => x.taskId.localeCompare(y.taskId));
      expect(tis).toHaveLength(2);
      for (const [i, ti] of tis.entries()) {
        expect(ti).toMatchObject({ dagId, runId: run.runId, taskId: ["a", "b"][i], state: "none", tryNumber: 0, maxTries: 3, pool: "etl", queue: "fast", isolation: null, notBefore: null, startDate: null, endDate: null });
      }
      expect((await s.listChangesSince(before)).map((c) => [c.kind, c.dagId, c.runId, c.state])).toEqual([["run", dagId, run.runId, "queued"]]);

      const again = { ...newRun(dagId, { runId: run.runId, tasks: ["a", "c"] }), conf: { other: true } };
      expect(await s.createRun(again)).toBe(false);
      expect((await s.getRun(run.runId))?.conf).toEqual({ nested: { x: [1, "two", null] } });
      expect((await s.listTaskInstances(run.runId)).map((t) => t.taskId).sort()).toEqual(["a", "b"]);
      expect(await s.getRun(uid("missing_"))).toBeUndefined();
    });

    it("creates nothing when a task instance cannot be created (the run is atomic)", async () => {
      const s = ctx.store();
      const run = newRun(uid("dag_"), { tasks: ["a", "b", "a"] });
      await expect(s.createRun(run)).rejects.toThrow();
      expect(await s.getRun(run.runId)).toBeUndefined();
      expect(await s.listTaskInstances(run.runId)).toEqual([]);
      // The failed attempt left no lock or transaction behind.
      expect(await s.createRun({ ...run, tasks: run.tasks.slice(0, 2) })).toBe(true);
    });

    it("creates runs with more task instances than one statement may bind", async () => {
      const s = ctx.store();
      const run = newRun(uid("dag_"), { count: 1234 });
      expect(await s.createRun(run)).toBe(true);
      const tis = await s.listTaskInstances(run.runId);
      expect(tis).toHaveLength(1234);
      expect(new Set(tis.map((t) => t.taskId))).toEqual(new Set(run.tasks.map((t) => t.taskId)));
    });

    it("lists runs newest first (or oldest first) with filters, paging and totals", async () => {
      const s = ctx.store();
      const dagId = uid("dag_");
      const runs = [
        newRun(dagId, { runId: `${dagId}-1`, logicalDate: day(1), runType: "scheduled" }),
        newRun(dagId, { runId: `${dagId}-3`, logicalDate: day(3), runType: "manual" }),
        newRun(dagId, { runId: `${dagId}-2`, logicalDate: day(2), runType: "backfill" }),
        newRun(dagId, { runId: `${dagId}-4`, logicalDate: day(4), runType: "scheduled" }),
      ];
      for (const r of runs) expect(await s.createRun(r)).toBe(true);
      await s.createRun(newRun(uid("dag_"), { logicalDate: day(5) }));
      expect(await s.setRunState(`${dagId}-3`, "running")).toBe(true);
      expect(await s.setRunState(`${dagId}-4`, "success")).toBe(true);

      const ids = async (q: Parameters<typeof s.listRuns>[0]) => (await s.listRuns({ dagId, ...q })).runs.map((r) => r.runId);
      expect(await ids({})).toEqual([`${dagId}-4`, `${dagId}-3`, `${dagId}-2`, `${dagId}-1`]);
      expect(await ids({ order: "asc" })).toEqual([`${dagId}-1`, `${dagId}-2`, `${dagId}-3`, `${dagId}-4`]);
      expect(await ids({ states: ["queued"] })).toEqual([`${dagId}-2`, `${dagId}-1`]);
      expect(await ids({ states: ["running", "success"] })).toEqual([`${dagId}-4`, `${dagId}-3`]);
      expect(await ids({ runType: "scheduled" })).toEqual([`${dagId}-4`, `${dagId}-1`]);
      expect(await ids({ runType: "backfill", states: ["queued"] })).toEqual([`${dagId}-2`]);
      const page = await s.listRuns({ dagId, limit: 2, offset: 1 });
      expect(page.total).toBe(4);
      expect(page.runs.map((r) => r.runId)).toEqual([`${dagId}-3`, `${dagId}-2`]);
      expect((await s.listRuns({ dagId, states: ["failed"] })).total).toBe(0);
      expect((await s.listRuns({ dagId: uid("none_") })).runs).toEqual([]);
    });

    it("finds the latest scheduled or backfill run by logical date, ignoring manual runs", async () => {
      const s = ctx.store();
      const dagId = uid("dag_");
      expect(await s.latestScheduledRun(dagId)).toBeUndefined();
      await s.createRun(newRun(dagId, { runId: `${dagId}-m`, logicalDate: day(9), runType: "manual" }));
      expect(await s.latestScheduledRun(dagId)).toBeUndefined();
      await s.createRun(newRun(dagId, { runId: `${dagId}-s2`, logicalDate: day(2), runType: "scheduled" }));
      await s.createRun(newRun(dagId, { runId: `${dagId}-b3`, logicalDate: day(3), runType: "backfill" }));
      await s.createRun(newRun(dagId, { runId: `${dagId}-s1`, logicalDate: day(1), runType: "scheduled" }));
      expect((await s.latestScheduledRun(dagId))?.runId).toBe(`${dagId}-b3`);
    });

    it("counts only running runs of the DAG as active", async () => {
      const s = ctx.store();
      const dagId = uid("dag_");
      const ids = [1, 2, 3, 4].map((i) => `${dagId}-${i}`);
      for (const [i, runId] of ids.entries()) await s.createRun(newRun(dagId, { runId, logicalDate: day(i + 1) }));
      const other = newRun(uid("dag_"));
      await s.createRun(other);
      await s.setRunState(other.runId, "running");
      expect(await s.countActiveRuns(dagId)).toBe(0);
      await s.setRunState(ids[0]!, "running");
      await s.setRunState(ids[1]!, "running");
      await s.setRunState(ids[2]!, "success");
      expect(await s.countActiveRuns(dagId)).toBe(2);
      await s.setRunState(ids[0]!, "failed");
      expect(await s.countActiveRuns(dagId)).toBe(1);
    });

    it("changes a run's state only from the given states, keeping its first start and stamping its end", async () => {
      const s = ctx.store();
      const dagId = uid("dag_");
      const run = newRun(dagId);
      await s.createRun(run);
      const before = await s.latestChangeId();

      expect(await s.setRunState(run.runId, "success", ["running"])).toBe(false);
      expect((await s.getRun(run.runId))?.state).toBe("queued");
      expect(await s.setRunState(run.runId, "running", ["queued"])).toBe(true);
      const started = await s.getRun(run.runId);
      expect(started?.state).toBe("running");
      expect(Date.parse(started?.startDate ?? "")).not.toBeNaN();
      expect(started?.endDate).toBeNull();

      expect(await s.setRunState(run.runId, "running", ["queued"])).toBe(false);
      expect(await s.setRunState(run.runId, "failed", ["queued", "running"])).toBe(true);
      const ended = await s.getRun(run.runId);
      expect(ended?.state).toBe("failed");
      expect(ended?.startDate).toBe(started?.startDate);
      expect(Date.parse(ended?.endDate ?? "")).not.toBeNaN();

      // Cleared and re-run: the first start stays, the end is gone until it ends again.
      expect(await s.setRunState(run.runId, "running")).toBe(true);
      const rerun = await s.getRun(run.runId);
      expect(rerun?.startDate).toBe(started?.startDate);
      expect(rerun?.endDate).toBeNull();
      expect(await s.setRunState(uid("missing_"), "running")).toBe(false);

      const feed = (await s.listChangesSince(before)).map((c) => [c.kind, c.dagId, c.runId, c.state]);
      expect(feed).toEqual([["run", dagId, run.runId, "running"], ["run", dagId, run.runId, "failed"], ["run", dagId, run.runId, "running"]]);
    });
  });
}
