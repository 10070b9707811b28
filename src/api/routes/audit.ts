/** The audit log in the API: who triggered, cleared, marked, paused, deleted or changed what, and when. */
import { z } from "zod";
import { AUDIT_ACTIONS, type AuditAction } from "../../store/types.js";
import { defineRoute, type AnyRoute } from "../route.js";
import { PageQuery } from "../schemas.js";

const AuditQuery = PageQuery.extend({
  dagId: z.string().min(1).max(250).optional(),
  action: z.enum(AUDIT_ACTIONS as unknown as [AuditAction, ...AuditAction[]]).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe("only events at or after this ISO 8601 instant"),
});

export const AuditEventView = z.object({
  eventId: z.number().int(),
  at: z.string().describe("ISO 8601 date-time"),
  actor: z.string().describe('a token\'s name, an operating-system user (CLI), or "local" (the API without tokens)'),
  via: z.enum(["api", "cli"]),
  action: z.enum(AUDIT_ACTIONS as unknown as [AuditAction, ...AuditAction[]]),
  dagId: z.string().nullable(),
  target: z.string().nullable().describe("the run, pool, route, connection or variable acted on"),
  details: z.record(z.string(), z.unknown()),
});
const AuditList = z.object({ events: z.array(AuditEventView), total: z.number().int() });

/** GET /audit. */
export const auditRoutes: AnyRoute[] = [
  defineRoute({
    method: "GET", path: "/audit", operationId: "listAudit", tag: "Audit", role: "read",
    summary: "The audit log, newest first: filter by DAG, action and time; page with limit and offset",
    query: AuditQuery, response: AuditList,
    async handler({ query, services: { ctx } }) {
      const since = query.since === undefined ? undefined : new Date(query.since).toISOString();
      return ctx.store.listAudit({ dagId: query.dagId, action: query.action, since, limit: query.limit, offset: query.offset });
    },
  }),
];
