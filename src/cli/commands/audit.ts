/** `airlock audit list`: who triggered, cleared, marked, paused, deleted or changed what, and when. */
import { Command } from "commander";
import { NotFoundError } from "../../core/errors.js";
import { parseZonedDate } from "../../scheduler/zoned-time.js";
import { AUDIT_ACTIONS, type AuditAction, type AuditEvent } from "../../store/types.js";
import { guarded, withContext } from "../context.js";
import { remoteClient, remoteOptions, type RemoteOptions } from "../remote.js";
import { listJson } from "../json-shapes.js";
import { printJson, printTable, UsageError } from "../output.js";

/** The `audit` command group. */
export function auditCommand(): Command {
  const audit = new Command("audit").description("the audit log: who changed what, when (API, web UI and CLI)");
  remoteOptions(audit.command("list").description("audit events, newest first")
    .option("--dag <dag>", "only events of this DAG").option("--action <action>", `only this action (${AUDIT_ACTIONS.join(", ")})`)
    .option("--since <date>", "only events at or after this date or instant (ISO 8601, UTC unless it says otherwise)")
    .option("--limit <n>", "at most this many", "50").option("--offset <n>", "skip this many (paging)", "0").option("--json", "print JSON"))
    .action(async (o: { dag?: string; action?: string; since?: string; limit: string; offset: string; json?: boolean } & RemoteOptions) => {
      const client = await remoteClient(o);
      if (client) {
        await guarded(Boolean(o.json), async () => {
          const q = checkOptions(o);
          print(await client.listAudit({ dagId: o.dag, action: o.action, since: q.since, limit: q.limit, offset: q.offset }), q.offset, Boolean(o.json));
        });
        return;
      }
      await withContext(Boolean(o.json), async (ctx) => {
        const q = checkOptions(o);
        // A DAG that was deleted keeps its history, so only a DAG never seen anywhere is "not found".
        if (o.dag !== undefined && !(await ctx.store.getDag(o.dag)) && (await ctx.store.listAudit({ dagId: o.dag, limit: 1 })).total === 0) {
          throw new NotFoundError("DAG", o.dag, "List DAGs with `airlock dags list`; a deleted DAG keeps its audit events");
        }
        print(await ctx.store.listAudit({ dagId: o.dag, action: o.action as AuditAction | undefined, since: q.since, limit: q.limit, offset: q.offset }), q.offset, Boolean(o.json));
      });
    });
  return audit;
}

/** Validates the filters; returns the instant and paging to ask for. */
function checkOptions(o: { action?: string; since?: string; limit: string; offset: string }): { since: string | undefined; limit: number; offset: number } {
  if (o.action !== undefined && !AUDIT_ACTIONS.includes(o.action as AuditAction)) throw new UsageError(`--action "${o.action}" is unknown`, `Use one of ${AUDIT_ACTIONS.join(", ")}`);
  const since = o.since === undefined ? undefined : parseZonedDate(o.since, "UTC");
  if (since === undefined && o.since !== undefined) throw new UsageError(`--since "${o.since}" is not a date`, "Use ISO 8601, e.g. --since 2026-01-01 or --since 2026-01-01T06:00:00Z");
  const limit = Number(o.limit);
  const offset = Number(o.offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit "${o.limit}" is not a whole number from 1 to 1000`, "e.g. --limit 100");
  if (!Number.isInteger(offset) || offset < 0) throw new UsageError(`--offset "${o.offset}" is not a whole number from 0`, "e.g. --offset 50");
  return { since: since === undefined ? undefined : new Date(since).toISOString(), limit, offset };
}

function print({ events, total }: { events: AuditEvent[]; total: number }, offset: number, json: boolean): void {
  if (json) return printJson(listJson(events, { total }));
  printTable(events.map((e) => ({
    at: e.at, who: e.actor, via: e.via, action: e.action, dag: e.dagId ?? "", target: e.target ?? "",
    details: Object.keys(e.details).length > 0 ? JSON.stringify(e.details) : "",
  })), ["at", "who", "via", "action", "dag", "target", "details"]);
  if (total > offset + events.length) process.stdout.write(`(${total - offset - events.length} more: --offset ${offset + events.length})\n`);
}
