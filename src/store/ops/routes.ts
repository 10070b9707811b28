/** Store operations of the routing map (DAG or task → queue, with fallbacks). */
import type { Selectable } from "kysely";
import type { Db } from "../kysely-store.js";
import type { RoutesTable } from "../schema.js";
import type { Route } from "../types.js";

function toRoute(r: Selectable<RoutesTable>): Route {
  return {
    target: r.target, dagId: r.dag_id, taskId: r.task_id, queue: r.queue, fallbacks: JSON.parse(r.fallbacks) as string[],
    updatedBy: r.updated_by, updatedAt: r.updated_at,
  };
}

/** Creates or replaces a route. */
export async function setRoute(db: Db, route: Omit<Route, "updatedAt">): Promise<Route> {
  const values = { dag_id: route.dagId, task_id: route.taskId, queue: route.queue, fallbacks: JSON.stringify(route.fallbacks), updated_by: route.updatedBy, updated_at: new Date().toISOString() };
  const r = await db.updateTable("routes").set(values).where("target", "=", route.target).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) await db.insertInto("routes").values({ target: route.target, ...values }).execute();
  return { ...route, updatedAt: values.updated_at };
}

/** Deletes a route; false when there was none. */
export async function deleteRoute(db: Db, target: string): Promise<boolean> {
  const r = await db.deleteFrom("routes").where("target", "=", target).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Every route, by target. */
export async function listRoutes(db: Db): Promise<Route[]> {
  return (await db.selectFrom("routes").selectAll().orderBy("target").execute()).map(toRoute);
}
