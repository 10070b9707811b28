/** Store contract, audit log: events in, newest first out, filtered by DAG, action and time, paged, counted. */
import { describe, expect, it } from "vitest";
import { uid, type ContractContext } from "./fixtures.js";

/** Registers the audit part of the contract. */
export function auditContract(ctx: ContractContext): void {
  describe("audit log", () => {
    it("records events and lists them newest first, filtered and paged", async () => {
      const s = ctx.store();
      const [dagId, other] = [uid("audited"), uid("other")];
      const before = new Date(Date.now() - 1000).toISOString();
      const first = await s.recordAudit({ actor: "ops-token", via: "api", action: "trigger", dagId, target: "run_1", details: { logicalDate: "2026-01-01T00:00:00.000Z" } });
      const second = await s.recordAudit({ actor: "alice", via: "cli", action: "clear", dagId, target: "run_1", details: { tasks: ["a", "b"], downstream: true } });
      await s.recordAudit({ actor: "local", via: "api", action: "pause", dagId: other, target: null, details: {} });
      expect(second.eventId).toBeGreaterThan(first.eventId);
      expect(Date.parse(first.at)).not.toBeNaN();
      const mine = await s.listAudit({ dagId });
      expect(mine.total).toBe(2);
      expect(mine.events).toEqual([second, first]);
      expect(mine.events[0]).toMatchObject({ actor: "alice", via: "cli", action: "clear", target: "run_1", details: { tasks: ["a", "b"], downstream: true } });
      expect((await s.listAudit({ dagId, action: "trigger" })).events).toEqual([first]);
      const page = await s.listAudit({ dagId, limit: 1, offset: 1 });
      expect(page).toEqual({ events: [first], total: 2 });
      expect((await s.listAudit({ dagId, since: before })).total).toBe(2);
      expect((await s.listAudit({ dagId, since: new Date(Date.now() + 60_000).toISOString() })).events).toEqual([]);
      const other2 = await ctx.open();
      try {
        expect((await other2.listAudit({ dagId: other })).events.map((e) => e.action)).toEqual(["pause"]);
      } finally {
        await other2.close();
      }
    });
  });
}
