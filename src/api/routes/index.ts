/** The full route table, in the order the OpenAPI document lists it. */
import type { AnyRoute } from "../route.js";
import { dagRoutes } from "./dags.js";
import { eventRoutes } from "./events.js";
import { fleetRoutes } from "./fleet.js";
import { insightRoutes } from "./insights.js";
import { metaRoutes } from "./meta.js";
import { poolRoutes } from "./pools.js";
import { resourceRoutes } from "./resources.js";
import { runRoutes } from "./runs.js";
import { taskRoutes } from "./tasks.js";
import { pipelineRoutes } from "./pipelines.js";
import { auditRoutes } from "./audit.js";

/** Every /api/v1 route. */
export const allRoutes: readonly AnyRoute[] = [...metaRoutes, ...dagRoutes, ...insightRoutes, ...runRoutes, ...taskRoutes, ...eventRoutes, ...resourceRoutes, ...pipelineRoutes, ...poolRoutes, ...fleetRoutes, ...auditRoutes];
