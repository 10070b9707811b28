/** Store contract, DAGs: versions, pausing, deactivation, listing filters and import errors. */
import { describe, expect, it } from "vitest";
import { addDag, uid, type ContractContext } from "./fixtures.js";

/** Registers the DAG part of the contract. */
export function dagsContract(ctx: ContractContext): void {
  describe("DAGs", () => {
    it("records a DAG with its version, and keeps every version a run may still need", async () => {
      const s = ctx.store();
      const id = uid("dag_");
      const before = await s.latestChangeId();
      const v1 = await addDag(s, id, { versionHash: `${id}-1`, tags: ["a"], tasks: ["one"] });
      const got = await s.getDag(id);
      expect(got).toMatchObject({ dagId: id, fileloc: `dags/${id}.ts`, isPaused: false, isActive: true, versionHash: `${id}-1`, bundlePath: `bundles/${id}.mjs`, nextLogicalDate: null });
      expect(got?.serialized).toEqual(v1);
      expect(Date.parse(got?.lastParsedAt ?? "")).not.toBeNaN();

      await addDag(s, id, { versionHash: `${id}-2`, tags: ["b"], tasks: ["one", "two"], fileloc: `dags/moved/${id}.ts` });
      const updated = await s.getDag(id);
      expect(updated).toMatchObject({ versionHash: `${id}-2`, fileloc: `dags/moved/${id}.ts` });
      expect(updated?.serialized.order).toEqual(["one", "two"]);
      expect(updated?.serialized.tags).toEqual(["b"]);
      const old = await s.getDagVersion(`${id}-1`);
      expect(old).toMatchObject({ hash: `${id}-1`, dagId: id, bundlePath: `bundles/${id}.mjs` });
      expect(old?.serialized.order).toEqual(["one"]);
      expect(await s.getDagVersion(`${id}-missing`)).toBeUndefined();
      expect(await s.getDag(`${id}-missing`)).toBeUndefined();

      // Parsing the same version again is not news.
      await addDag(s, id, { versionHash: `${id}-2`, tags: ["b"], tasks: ["one", "two"], fileloc: `dags/moved/${id}.ts` });
      const changes = (await s.listChangesSince(before)).filter((c) => c.dagId === id);
      expect(changes.map((c) => [c.kind, c.state])).toEqual([["dag", "added"], ["dag", "updated"]]);
    });

    it("pauses new DAGs that ask for it, and never overrides a later pause or unpause on re-parse", async () => {
      const s = ctx.store();
      const paused = uid("dag_");
      const running = uid("dag_");
      await addDag(s, paused, { pausedOnCreation: true });
      await addDag(s, running);
      expect((await s.getDag(paused))?.isPaused).toBe(true);
      expect((await s.getDag(running))?.isPaused).toBe(false);

      expect(await s.setPaused(paused, false)).toBe(true);
      expect(await s.setPaused(running, true)).toBe(true);
      await addDag(s, paused, { pausedOnCreation: true, versionHash: "other" });
      await addDag(s, running, { versionHash: "other2" });
      expect((await s.getDag(paused))?.isPaused).toBe(false);
      expect((await s.getDag(running))?.isPaused).toBe(true);
      expect(await s.setPaused(uid("missing_"), true)).toBe(false);

      expect((await s.getDag(running))?.pausedReason).toBeNull();
      expect(await s.setPaused(running, true, "3 failed runs in a row")).toBe(true);
      expect((await s.getDag(running))?.pausedReason).toBe("3 failed runs in a row");
      const before = await s.latestChangeId();
      await s.setPaused(running, false);
      expect((await s.getDag(running))?.pausedReason).toBeNull();
      expect((await s.listChangesSince(before)).map((c) => [c.kind, c.dagId, c.state])).toEqual([["dag", running, "unpaused"]]);
    });

    it("stores the next logical date the scheduler computed", async () => {
      const s = ctx.store();
      const id = uid("dag_");
      await addDag(s, id);
      await s.setNextLogicalDate(id, "2026-02-01T00:00:00.000Z");
      expect((await s.getDag(id))?.nextLogicalDate).toBe("2026-02-01T00:00:00.000Z");
      await s.setNextLogicalDate(id, null);
      expect((await s.getDag(id))?.nextLogicalDate).toBeNull();
    });

    it("deactivates DAGs a file no longer defines, and reactivates them when it does again", async () => {
      const s = ctx.store();
      const file = `dags/${uid("f")}.ts`;
      const other = `dags/${uid("f")}.ts`;
      const [a, b, c] = [uid("dag_a"), uid("dag_b"), uid("dag_c")];
      await addDag(s, a, { fileloc: file });
      await addDag(s, b, { fileloc: file });
      await addDag(s, c, { fileloc: other });

      await s.deactivateMissingDags(file, [a]);
      expect((await s.getDag(a))?.isActive).toBe(true);
      expect((await s.getDag(b))?.isActive).toBe(false);
      expect((await s.getDag(c))?.isActive).toBe(true);
      const listed = async (includeInactive: boolean) => (await s.listDags({ search: "dag_", includeInactive, limit: 1000 })).dags.map((d) => d.dagId);
      expect(await listed(false)).not.toContain(b);
      expect(await listed(true)).toContain(b);

      await s.deactivateMissingDags(file, []);
      expect((await s.getDag(a))?.isActive).toBe(false);
      expect((await s.getDag(c))?.isActive).toBe(true);

      await addDag(s, b, { fileloc: file });
      expect((await s.getDag(b))?.isActive).toBe(true);
    });

    it("deactivates DAGs of deleted files and drops those files' import errors", async () => {
      const s = ctx.store();
      const kept = `dags/${uid("kept")}.ts`;
      const gone = `dags/${uid("gone")}.ts`;
      const [a, b] = [uid("dag_"), uid("dag_")];
      await addDag(s, a, { fileloc: kept });
      await addDag(s, b, { fileloc: gone });
      await s.setImportError(kept, "SyntaxError in kept");
      await s.setImportError(gone, "SyntaxError in gone");

      await s.deactivateMissingFiles([kept]);
      expect((await s.getDag(a))?.isActive).toBe(true);
      expect((await s.getDag(b))?.isActive).toBe(false);
      const files = (await s.listImportErrors()).map((e) => e.fileloc);
      expect(files).toContain(kept);
      expect(files).not.toContain(gone);

      await s.deactivateMissingFiles([]);
      expect((await s.getDag(a))?.isActive).toBe(false);
      expect(await s.listImportErrors()).toEqual([]);
    });

    it("lists DAGs by paused state and tags, ordered by id, with totals independent of paging", async () => {
      const s = ctx.store();
      const p = uid("lst");
      const tag = uid("tag");
      const other = uid("tag");
      const ids = [`${p}_1`, `${p}_2`, `${p}_3`, `${p}_4`, `${p}_5`];
      for (const [i, id] of [...ids].reverse().entries()) await addDag(s, id, { tags: i % 2 === 0 ? [tag] : [tag, other], pausedOnCreation: id.endsWith("_2") });

      const all = await s.listDags({ tags: [tag] });
      expect(all.total).toBe(5);
      expect(all.dags.map((d) => d.dagId)).toEqual(ids);
      expect(all.dags[0]?.serialized.tags).toContain(tag);

      const page = await s.listDags({ tags: [tag], limit: 2, offset: 2 });
      expect(page.total).toBe(5);
      expect(page.dags.map((d) => d.dagId)).toEqual(ids.slice(2, 4));
      expect((await s.listDags({ tags: [tag], limit: 2, offset: 4 })).dags.map((d) => d.dagId)).toEqual(ids.slice(4));
      expect((await s.listDags({ tags: [tag], offset: 10 })).dags).toEqual([]);

      expect((await s.listDags({ tags: [tag], paused: true })).dags.map((d) => d.dagId)).toEqual([`${p}_2`]);
      const unpaused = await s.listDags({ tags: [tag], paused: false });
      expect(unpaused.total).toBe(4);
      expect(unpaused.dags.map((d) => d.dagId)).not.toContain(`${p}_2`);

      // Tags match whole: a tag that is a prefix of another, or differs in case, is a different tag.
      expect((await s.listDags({ tags: [other] })).dags.map((d) => d.dagId)).toEqual([`${p}_2`, `${p}_4`]);
      expect((await s.listDags({ tags: [tag.slice(0, -1)] })).total).toBe(0);
      expect((await s.listDags({ tags: [tag.toUpperCase()] })).total).toBe(0);
      // Several tags: a DAG with any of them.
      expect((await s.listDags({ tags: [other, uid("none")] })).total).toBe(2);
      expect((await s.listDags({ tags: [uid("none")] })).total).toBe(0);
    });

    it("matches tags holding LIKE wildcards and JSON escapes literally", async () => {
      const s = ctx.store();
      const p = uid("tg");
      await addDag(s, `${p}_pct`, { tags: [`${p}%`] });
      await addDag(s, `${p}_under`, { tags: [`${p}_x`] });
      await addDag(s, `${p}_plain`, { tags: [`${p}ax`, `${p}abc`] });
      await addDag(s, `${p}_quote`, { tags: [`${p}"q\\`] });
      const byTag = async (t: string) => (await s.listDags({ tags: [t] })).dags.map((d) => d.dagId);
      expect(await byTag(`${p}%`)).toEqual([`${p}_pct`]);
      expect(await byTag(`${p}_x`)).toEqual([`${p}_under`]);
      expect(await byTag(`${p}"q\\`)).toEqual([`${p}_quote`]);
    });

    it("searches DAG ids as plain substrings: % and _ are not wildcards, and case does not matter", async () => {
      const s = ctx.store();
      const p = uid("srch");
      for (const id of [`${p}-load_daily`, `${p}-loadXdaily`, `${p}-100%-done`, `${p}-100x-done`, `${p}-back\\slash`]) await addDag(s, id);
      const search = async (q: string) => (await s.listDags({ search: q })).dags.map((d) => d.dagId);
      expect(await search(`${p}-load_`)).toEqual([`${p}-load_daily`]);
      expect(await search("load_daily")).toContain(`${p}-load_daily`);
      expect(await search("load_daily")).not.toContain(`${p}-loadXdaily`);
      expect(await search(`${p}-100%`)).toEqual([`${p}-100%-done`]);
      expect(await search(`${p}-back\\s`)).toEqual([`${p}-back\\slash`]);
      expect(await search(`${p}-LOADX`)).toEqual([`${p}-loadXdaily`]);
      expect(await search(`${p}%`)).toEqual([]);
      const found = await s.listDags({ search: p, limit: 2 });
      expect(found.total).toBe(5);
      expect(found.dags).toHaveLength(2);
    });

    it("keeps one import error per file, announcing only real changes, and clears it", async () => {
      const s = ctx.store();
      const [f1, f2] = [`dags/${uid("b")}.ts`, `dags/${uid("a")}.ts`].sort();
      const before = await s.latestChangeId();
      await s.setImportError(f2!, "ReferenceError: x is not defined");
      await s.setImportError(f1!, "SyntaxError: Unexpected token");
      await s.setImportError(f1!, "SyntaxError: Unexpected token");
      const mine = async () => (await s.listImportErrors()).filter((e) => e.fileloc === f1 || e.fileloc === f2);
      const first = await mine();
      expect(first.map((e) => [e.fileloc, e.message])).toEqual([[f1, "SyntaxError: Unexpected token"], [f2, "ReferenceError: x is not defined"]]);
      expect(Date.parse(first[0]?.updatedAt ?? "")).not.toBeNaN();

      await s.setImportError(f1!, "SyntaxError: still broken");
      expect((await mine()).map((e) => e.message)).toEqual(["SyntaxError: still broken", "ReferenceError: x is not defined"]);
      await s.clearImportError(f1!);
      await s.clearImportError(f1!);
      expect((await mine()).map((e) => e.fileloc)).toEqual([f2]);
      const feed = (await s.listChangesSince(before)).filter((c) => c.kind === "import_error").map((c) => c.state);
      expect(feed).toEqual(["error", "error", "error", "cleared"]);
    });
  });
}
