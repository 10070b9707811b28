/** Store operations of the audit log (who changed what, when), and its migration (ids 120-129). */
import type { Selectable } from "kysely";
import type { Db } from "../kysely-store.js";
import type { Migration } from "../migrations.js";
import type { AuditLogTable } from "../schema.js";
import type { AuditAction, AuditEvent, ListAuditQuery, NewAuditEvent } from "../types.js";

export const AUDIT_MIGRATIONS: Migration[] = [
  {
    id: 120,
    name: "audit log",
    breaking: false,
    sql: (d) => [
      `create table audit_log (id ${d === "sqlite" ? "integer primary key autoincrement" : "bigserial primary key"}, at text not null,
        actor text not null, via text not null, action text not null, dag_id text, target text, details text not null)`,
      `create index audit_log_dag on audit_log (dag_id, id)`,
      `create index audit_log_at on audit_log (at)`,
    ],
  },
];

function toEvent(r: Selectable<AuditLogTable>): AuditEvent {
  return {
    eventId: Number(r.id), at: r.at, actor: r.actor, via: r.via as AuditEvent["via"], action: r.action as AuditAction,
    dagId: r.dag_id, target: r.target, details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

/** Appends an event; returns it with its id and time. */
export async function insertAuditEvent(db: Db, e: NewAuditEvent): Promise<AuditEvent> {
  const at = new Date().toISOString();
  const row = await db.insertInto("audit_log")
    .values({ at, actor: e.actor, via: e.via, action: e.action, dag_id: e.dagId, target: e.target, details: JSON.stringify(e.details) })
    .returning("id").executeTakeFirstOrThrow();
  return { ...e, eventId: Number(row.id), at };
}

/** Events matching the filters, newest first, with the number of all that match. */
export async function selectAuditEvents(db: Db, q: ListAuditQuery & { limit: number; offset: number }): Promise<{ events: AuditEvent[]; total: number }> {
  let query = db.selectFrom("audit_log");
  if (q.dagId !== undefined) query = query.where("dag_id", "=", q.dagId);
  if (q.action !== undefined) query = query.where("action", "=", q.action);
  if (q.since !== undefined) query = query.where("at", ">=", q.since);
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy("id", "desc").limit(q.limit).offset(q.offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow(),
  ]);
  return { events: rows.map(toEvent), total: Number(count.n) };
}
