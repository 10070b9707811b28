/** Pools: list with occupancy, set slots, delete. */
import { z } from "zod";
import { deletePool, listPools, setPool } from "../../core/pools.js";
import { defineRoute, type AnyRoute } from "../route.js";
import { Deleted, Id } from "../schemas.js";

const PoolView = z.object({
  name: z.string(), slots: z.number().int(), description: z.string().nullable(), running: z.number().int(),
  queued: z.number().int(), defined: z.boolean(),
});
const PoolList = z.object({ pools: z.array(PoolView) });
const PoolInput = z.object({
  slots: z.number().int().min(0).max(1_000_000),
  description: z.string().max(1000).nullable().optional(),
}).strict();
const NameParams = z.object({ name: Id });

/** The pool routes. */
export const poolRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/pools", operationId: "listPools", tag: "Pools", role: "read",
    summary: "Pools with their slots and running and queued task instances", response: PoolList,
    async handler({ services: { ctx } }) {
      return { pools: await listPools(ctx) };
    },
  }),
  defineRoute({
    method: "PUT", path: "/pools/{name}", operationId: "setPool", tag: "Pools", role: "admin",
    summary: "Create a pool or change its slots; every worker applies it at its next claim", params: NameParams, body: PoolInput, response: PoolView,
    async handler({ params, body, services: { ctx } }) {
      const pool = await setPool(ctx, params.name, body.slots, body.description);
      ctx.wake?.();
      return pool;
    },
  }),
  defineRoute({
    method: "DELETE", path: "/pools/{name}", operationId: "deletePool", tag: "Pools", role: "admin", errors: [404, 409],
    summary: "Delete a pool no queued or running task uses (not the default pool)", params: NameParams, response: Deleted,
    async handler({ params, services: { ctx } }) {
      await deletePool(ctx, params.name);
      return { deleted: true };
    },
  }),
];
