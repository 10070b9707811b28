/** Lease fencing: a write made on behalf of a lease holder commits only while that holder still has that epoch. */
import type { Db } from "../kysely-store.js";
import type { LeaseFence } from "../store.js";

/** A write was refused because its writer no longer holds the lease it acted under (another took over). */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(readonly fence: LeaseFence, current: { holder: string; epoch: number } | undefined) {
    super(`lease "${fence.name}" is no longer held by ${fence.holder} (epoch ${fence.epoch}; now ${current ? `${current.holder}, epoch ${current.epoch}` : "free"}): the write was refused. `
      + "Another scheduler took over; this one stands by.");
  }
}

/** Throws LeaseLostError unless `fence` still names the lease's holder and epoch; call inside the write transaction. */
export async function checkLease(db: Db, fence: LeaseFence | undefined): Promise<void> {
  if (!fence) return;
  const row = await db.selectFrom("leases").select(["holder", "epoch"]).where("name", "=", fence.name).executeTakeFirst();
  const current = row ? { holder: row.holder, epoch: Number(row.epoch) } : undefined;
  if (!current || current.holder !== fence.holder || current.epoch !== fence.epoch) throw new LeaseLostError(fence, current);
}

/** Takes or renews `name` for `holder`; the epoch rises when the holder changes. Null while another holds it. */
export async function takeLease(db: Db, name: string, holder: string, ttlMs: number): Promise<number | null> {
  const t = Date.now();
  const row = await db.selectFrom("leases").selectAll().where("name", "=", name).executeTakeFirst();
  if (row && row.holder !== holder && Number(row.expires_at) > t) return null;
  if (!row) {
    await db.insertInto("leases").values({ name, holder, expires_at: t + ttlMs, epoch: 1 }).execute();
    return 1;
  }
  const epoch = row.holder === holder ? Number(row.epoch) : Number(row.epoch) + 1;
  await db.updateTable("leases").set({ holder, expires_at: t + ttlMs, epoch }).where("name", "=", name).execute();
  return epoch;
}
