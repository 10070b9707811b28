/** Store contract, datasets: versions by name and run, the newest per dataset, and data-aware schedule watermarks. */
import { describe, expect, it } from "vitest";
import { uid, type ContractContext } from "./fixtures.js";

/** Registers the dataset part of the contract. */
export function datasetsContract(ctx: ContractContext): void {
  describe("datasets", () => {
    it("records versions, lists them newest first, finds a run's version and each dataset's newest id", async () => {
      const s = ctx.store();
      const [a, b, dagId] = [uid("ds_a"), uid("ds_b"), uid("dag")];
      const before = await s.latestChangeId();
      const base = { dagId, taskId: "make", tryNumber: 1, type: "csv", size: 5_000_000_000 };
      const v1 = await s.addDatasetVersion({ ...base, name: a, runId: "r1", uri: "s3://bucket/a/1.csv" });
      const v2 = await s.addDatasetVersion({ ...base, name: a, runId: "r2", uri: "s3://bucket/a/2.csv", tryNumber: 2 });
      const v3 = await s.addDatasetVersion({ ...base, name: b, runId: "r2", uri: "/data/b.json", type: "json", size: 3 });
      expect(v2.id).toBeGreaterThan(v1.id);
      expect(v1).toMatchObject({ name: a, runId: "r1", size: 5_000_000_000, uri: "s3://bucket/a/1.csv" });
      expect(Date.parse(v1.createdAt)).not.toBeNaN();
      expect((await s.listDatasetVersions(a)).map((v) => v.id)).toEqual([v2.id, v1.id]);
      expect(await s.listDatasetVersions(uid("none"))).toEqual([]);
      expect(await s.getRunDatasetVersion("r1", a)).toEqual(v1);
      expect(await s.getRunDatasetVersion("r1", b)).toBeUndefined();
      const ids = await s.latestDatasetVersionIds([a, b, uid("none")]);
      expect(Object.fromEntries(ids)).toEqual({ [a]: v2.id, [b]: v3.id });
      const mine = (await s.listDatasets()).filter((d) => d.name === a || d.name === b);
      expect(mine).toEqual([{ name: a, versions: 2, latest: v2 }, { name: b, versions: 1, latest: v3 }].sort((x, y) => x.name.localeCompare(y.name)));
      const feed = await s.listChangesSince(before, 500);
      expect(feed.filter((c) => c.kind === "dataset" && c.dagId === dagId).map((c) => c.state)).toEqual([a, a, b]);
    });

    it("moves a watermark only from the value it holds (compare-and-set)", async () => {
      const s = ctx.store();
      const dagId = uid("consumer");
      expect(await s.getDatasetWatermark(dagId)).toBeNull();
      expect(await s.advanceDatasetWatermark(dagId, 5, 9)).toBe(false);
      expect(await s.advanceDatasetWatermark(dagId, 0, 7)).toBe(true);
      expect(await s.getDatasetWatermark(dagId)).toBe(7);
      expect(await s.advanceDatasetWatermark(dagId, 0, 8)).toBe(false);
      expect(await s.advanceDatasetWatermark(dagId, 7, 12)).toBe(true);
      const other = await ctx.open();
      try {
        expect(await other.getDatasetWatermark(dagId)).toBe(12);
      } finally {
        await other.close();
      }
    });
  });
}
