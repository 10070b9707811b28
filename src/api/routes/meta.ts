/** Health, version and the OpenAPI document. */
import { z } from "zod";
import { defineRoute, type AnyRoute } from "../route.js";
import { Health, Version } from "../schemas.js";

/** Health and version routes (public: load balancers and the UI call them without a token). */
export const metaRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/health", operationId: "getHealth", tag: "Meta", role: "public",
    summary: "Whether the server and its store answer", response: Health,
    async handler({ services: { ctx }, reply }) {
      try {
        const latestChangeId = await ctx.store.latestChangeId();
        return { status: "ok" as const, store: "ok" as const, latestChangeId };
      } catch {
        reply.code(503);
        return { status: "degraded" as const, store: "error" as const, latestChangeId: null };
      }
    },
  }),
  defineRoute({
    method: "GET", path: "/version", operationId: "getVersion", tag: "Meta", role: "public",
    summary: "Airlock's version and the API version", response: Version,
    async handler({ services }) {
      return { version: services.version, api: "v1" as const };
    },
  }),
  defineRoute({
    method: "GET", path: "/auth", operationId: "whoAmI", tag: "Meta", role: "read",
    summary: "The caller's role (the UI uses it to check a token and hide admin actions)",
    response: z.object({ role: z.enum(["admin", "read"]), authEnabled: z.boolean() }),
    async handler({ principal }) {
      return { role: principal.role, authEnabled: principal.authenticated };
    },
  }),
];
