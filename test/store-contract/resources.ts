/** Store contract, the rest: pools, connections, variables, the change feed, leases and migrations. */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { ConnectionRow } from "../../src/store/types.js";
import { uid, type ContractContext } from "./fixtures.js";

/** Registers the pools, secrets, feed, lease and migration part of the contract. */
export function resourcesContract(ctx: ContractContext): void {
  describe("pools, connections and variables", () => {
    it("has the default pool, and creates and resizes pools", async () => {
      const s = ctx.store();
      expect((await s.listPools()).find((p) => p.name === "default")).toEqual({ name: "default", slots: 128, description: "Default pool" });
      const [b, a] = [uid("pool_b"), uid("pool_a")];
      await s.setPool({ name: b, slots: 3, description: "gpus" });
      await s.setPool({ name: a, slots: 1, description: null });
      await s.setPool({ name: b, slots: 5, description: null });
      const mine = (await s.listPools()).filter((p) => p.name === a || p.name === b);
      expect(mine).toEqual([{ name: a, slots: 1, description: null }, { name: b, slots: 5, description: null }]);
    });

    it("creates, replaces, lists and deletes connections with every field", async () => {
      const s = ctx.store();
      const [x, y] = [uid("conn_b"), uid("conn_a")];
      const full: ConnectionRow = {
        connId: x, connType: "postgres", host: "db.internal", port: 5432, login: "etl", passwordEnc: "v1:cipher==",
        schema: "analytics", extraEnc: "v1:extra==", description: "warehouse",
      };
      const bare: ConnectionRow = { connId: y, connType: null, host: null, port: null, login: null, passwordEnc: null, schema: null, extraEnc: null, description: null };
      await s.upsertConnection(full);
      await s.upsertConnection(bare);
      expect(await s.getConnection(x)).toEqual(full);
      expect(await s.getConnection(y)).toEqual(bare);
      expect((await s.listConnections()).filter((c) => c.connId === x || c.connId === y).map((c) => c.connId)).toEqual([y, x]);

      const replaced = { ...full, host: "db2.internal", port: 6432, passwordEnc: null };
      await s.upsertConnection(replaced);
      expect(await s.getConnection(x)).toEqual(replaced);
      expect(await s.deleteConnection(x)).toBe(true);
      expect(await s.deleteConnection(x)).toBe(false);
      expect(await s.getConnection(x)).toBeUndefined();
      expect((await s.listConnections()).map((c) => c.connId)).not.toContain(x);
    });

    it("sets, replaces, lists and deletes variables", async () => {
      const s = ctx.store();
      const [k1, k2] = [uid("var_b"), uid("var_a")];
      await s.setVariable({ key: k1, valueEnc: "v1:abc", isSecret: true, description: "api key" });
      await s.setVariable({ key: k2, valueEnc: "\"plain\"", isSecret: false, description: null });
      expect(await s.getVariable(k1)).toEqual({ key: k1, valueEnc: "v1:abc", isSecret: true, description: "api key" });
      expect((await s.listVariables()).filter((v) => v.key === k1 || v.key === k2).map((v) => v.key)).toEqual([k2, k1]);
      await s.setVariable({ key: k1, valueEnc: "v1:def", isSecret: false, description: null });
      expect(await s.getVariable(k1)).toEqual({ key: k1, valueEnc: "v1:def", isSecret: false, description: null });
      expect(await s.deleteVariable(k1)).toBe(true);
      expect(await s.deleteVariable(k1)).toBe(false);
      expect(await s.getVariable(k1)).toBeUndefined();
    });
  });

  describe("change feed", () => {
    it("returns appended changes in order after a given id, up to a limit", async () => {
      const s = ctx.store();
      const before = await s.latestChangeId();
      const dagId = uid("dag_");
      const kinds = ["log", "environment", "dag", "run", "task"] as const;
      for (const [i, kind] of kinds.entries()) {
        await s.appendChange({ kind, dagId, runId: i % 2 ? `r${i}` : null, taskId: i % 2 ? `t${i}` : null, tryNumber: i % 2 ? i : null, state: `s${i}` });
      }
      const all = await s.listChangesSince(before);
      expect(all.map((c) => [c.kind, c.dagId, c.runId, c.taskId, c.tryNumber, c.state])).toEqual(
        kinds.map((kind, i) => [kind, dagId, i % 2 ? `r${i}` : null, i % 2 ? `t${i}` : null, i % 2 ? i : null, `s${i}`]));
      const ids = all.map((c) => c.id);
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
      expect(ids[0]).toBeGreaterThan(before);
      expect(await s.latestChangeId()).toBe(ids[4]);
      expect(all.every((c) => !Number.isNaN(Date.parse(c.at)))).toBe(true);

      expect((await s.listChangesSince(before, 2)).map((c) => c.id)).toEqual(ids.slice(0, 2));
      expect((await s.listChangesSince(ids[1]!, 2)).map((c) => c.id)).toEqual(ids.slice(2, 4));
      expect(await s.listChangesSince(ids[4]!)).toEqual([]);
    });

    it("is shared by every handle on the database", async () => {
      const other = await ctx.open();
      try {
        const before = await ctx.store().latestChangeId();
        await other.appendChange({ kind: "log", dagId: null, runId: null, taskId: null, tryNumber: null, state: "from-other" });
        expect((await ctx.store().listChangesSince(before)).map((c) => c.state)).toEqual(["from-other"]);
      } finally {
        await other.close();
      }
    });
  });

  describe("sla misses", () => {
    it("records a task instance's sla miss once, across processes", async () => {
      const s = ctx.store();
      const other = await ctx.open();
      try {
        const runId = uid("run_");
        expect(await s.recordSlaMiss({ dagId: "d", runId, taskId: "t" })).toBe(true);
        expect(await other.recordSlaMiss({ dagId: "d", runId, taskId: "t" })).toBe(false);
        expect(await s.recordSlaMiss({ dagId: "d", runId, taskId: "t" })).toBe(false);
        expect(await other.recordSlaMiss({ dagId: "d", runId, taskId: "u" })).toBe(true);
      } finally {
        await other.close();
      }
    });
  });

  describe("leases", () => {
    it("holds a lease for one holder until released or expired, and lets the holder renew it", async () => {
      const s = ctx.store();
      const other = await ctx.open();
      try {
        const name = uid("lease_");
        expect(await s.acquireLease(name, "scheduler-a", 60_000)).toBe(true);
        expect(await other.acquireLease(name, "scheduler-b", 60_000)).toBe(false);
        expect(await s.acquireLease(name, "scheduler-a", 60_000)).toBe(true);
        // Only the holder can release.
        await other.releaseLease(name, "scheduler-b");
        expect(await other.acquireLease(name, "scheduler-b", 60_000)).toBe(false);
        await s.releaseLease(name, "scheduler-a");
        expect(await other.acquireLease(name, "scheduler-b", 60_000)).toBe(true);
        expect(await s.acquireLease(name, "scheduler-a", 60_000)).toBe(false);
        expect(await s.acquireLease(uid("lease_"), "scheduler-a", 60_000)).toBe(true);

        // A short lease that its holder stops renewing passes to the next one once it has expired.
        const short = uid("lease_");
        const asked = Date.now();
        expect(await s.acquireLease(short, "scheduler-a", 300)).toBe(true);
        const granted = Date.now();
        const early = await other.acquireLease(short, "scheduler-b", 60_000);
        // Only when the answer certainly came before expiry may it be checked (timings are never asserted).
        if (Date.now() < asked + 300) expect(early).toBe(false);
        while (Date.now() <= granted + 300) await sleep(50);
        expect(await other.acquireLease(short, "scheduler-b", 60_000)).toBe(true);
        expect(await s.acquireLease(short, "scheduler-a", 60_000)).toBe(false);
      } finally {
        await other.close();
      }
    });
  });

  describe("migrate", () => {
    it("is idempotent: migrating again, from any handle, changes nothing", async () => {
      const s = ctx.store();
      const variable = uid("var_");
      await s.setVariable({ key: variable, valueEnc: "kept", isSecret: false, description: null });
      await s.migrate();
      const other = await ctx.open();
      try {
        await other.migrate();
        await Promise.all([s.migrate(), other.migrate()]);
        expect((await other.getVariable(variable))?.valueEnc).toBe("kept");
        expect((await s.listPools()).filter((p) => p.name === "default")).toHaveLength(1);
      } finally {
        await other.close();
      }
    });
  });
}
