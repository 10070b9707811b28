/** Pool reads and writes beyond the basic list/set: deletion and occupancy. */
import type { Db } from "../kysely-store.js";
import type { PoolUsage } from "../types.js";

/** Deletes a pool; false when there was none. The caller refuses the default pool. */
export async function deletePoolRow(db: Db, name: string): Promise<boolean> {
  const r = await db.deleteFrom("pools").where("name", "=", name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Every pool with its running and queued instances (pools that instances name but nobody created show too). */
export async function poolUsage(db: Db): Promise<PoolUsage[]> {
  const pools = await db.selectFrom("pools").selectAll().execute();
  const counts = await db.selectFrom("task_instances").select(["pool", "state", (eb) => eb.fn.countAll<number>().as("n")])
    .where("state", "in", ["running", "queued"]).groupBy(["pool", "state"]).execute();
  const byName = new Map<string, PoolUsage>(pools.map((p) => [p.name, { name: p.name, slots: Number(p.slots), description: p.description, running: 0, queued: 0, defined: true }]));
  const defaultSlots = byName.get("default")?.slots ?? 128;
  for (const c of counts) {
    let u = byName.get(c.pool);
    if (!u) {
      // An instance names a pool nobody created: it runs with the default pool's slots (see ops/claim.ts).
      u = { name: c.pool, slots: defaultSlots, description: null, running: 0, queued: 0, defined: false };
      byName.set(c.pool, u);
    }
    if (c.state === "running") u.running += Number(c.n);
    else u.queued += Number(c.n);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
