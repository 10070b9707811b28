/**
 * The audit log: who triggered, cleared, marked, paused, deleted or changed what, and when. The API records every
 * change it makes (api/audit.ts); CLI commands that write to the store record theirs here. Details are built from
 * named, non-secret fields only: never a password, a variable's value, a connection URI or extra, or a run's conf.
 */
import os from "node:os";
import type { AuditAction, AuditEvent } from "../store/types.js";
import type { AirlockContext } from "./context.js";

/** The person behind a CLI command: the operating-system user. */
export function cliActor(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? "unknown";
  }
}

/** What a change was, for the audit log. */
export interface AuditEntry {
  action: AuditAction;
  dagId?: string | null;
  target?: string | null;
  details?: Record<string, unknown>;
}

/** Records a change made by a CLI command. An audit failure is reported but never undoes or fails the change. */
export async function auditCli(ctx: AirlockContext, entry: AuditEntry): Promise<AuditEvent | null> {
  try {
    return await ctx.store.recordAudit({ actor: cliActor(), via: "cli", action: entry.action, dagId: entry.dagId ?? null, target: entry.target ?? null, details: entry.details ?? {} });
  } catch (err) {
    process.stderr.write(`warning: the change was made but could not be written to the audit log: ${(err as Error).message}\n`);
    return null;
  }
}

/** The DAG of a route target ("<dag>" or "<dag>.<task>"). */
export function dagOfTarget(target: string): string {
  const dot = target.indexOf(".");
  return dot < 0 ? target : target.slice(0, dot);
}
