/** Pools as users manage them (CLI, API and UI share these): list with occupancy, set slots, delete. */
import type { PoolUsage } from "../store/types.js";
import type { AirlockContext } from "./context.js";
import { ConflictError, NotFoundError, ValidationError } from "./errors.js";

const POOL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}$/;
/** Upper bound on slots, far above any real fleet, so a typo cannot overflow a column. */
const MAX_SLOTS = 1_000_000;

/** Pools with their slots, running and queued instances. */
export function listPools(ctx: AirlockContext): Promise<PoolUsage[]> {
  return ctx.store.poolUsage();
}

/** Creates a pool or changes its slots (and description); takes effect at the next claim of every worker. */
export async function setPool(ctx: AirlockContext, name: string, slots: number, description?: string | null): Promise<PoolUsage> {
  if (typeof name !== "string" || !POOL_NAME.test(name)) throw new ValidationError("name", `${JSON.stringify(name)} is not a valid pool name`, "Use letters, digits, '_', '-' and '.' (at most 250)");
  if (!Number.isSafeInteger(slots) || slots < 0 || slots > MAX_SLOTS) {
    throw new ValidationError("slots", `${JSON.stringify(slots)} is not a number of slots`, `Use an integer from 0 (hold every task of the pool) to ${MAX_SLOTS}`);
  }
  const existing = (await ctx.store.listPools()).find((p) => p.name === name);
  await ctx.store.setPool({ name, slots, description: description === undefined ? existing?.description ?? null : description });
  return (await ctx.store.poolUsage()).find((p) => p.name === name) as PoolUsage;
}

/** Deletes a pool; the default pool cannot go, nor a pool with queued or running instances. */
export async function deletePool(ctx: AirlockContext, name: string): Promise<void> {
  if (name === "default") throw new ConflictError("The default pool cannot be deleted", "Change its slots instead: `airlock pools set default <slots>`");
  const usage = (await ctx.store.poolUsage()).find((p) => p.name === name && p.defined);
  if (!usage) throw new NotFoundError("Pool", name, "List pools with `airlock pools list`");
  if (usage.running + usage.queued > 0) {
    throw new ConflictError(`Pool "${name}" has ${usage.running} running and ${usage.queued} queued task(s)`, "Wait until they end (or set its slots to 0 to hold new ones), then delete it");
  }
  await ctx.store.deletePool(name);
}
