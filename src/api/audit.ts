/**
 * What each state-changing API operation records in the audit log, by operationId. Every route that is not a GET
 * must appear here (test/api.audit.test.ts checks it), so a new route cannot change state unaudited. Details are
 * built from named fields, never from a whole body: a connection's password, URI or extra, a variable's value and
 * a run's conf stay out.
 */
import { dagOfTarget, type AuditEntry } from "../core/audit.js";
import type { Store } from "../store/store.js";
import type { Principal } from "./auth.js";

type P = Record<string, string>;
type B = Record<string, unknown>;
type R = Record<string, unknown> | undefined;
/** null: the call changed nothing (a dry run), so there is nothing to record. */
type Describe = (params: P, body: B, result: R) => AuditEntry | null;

const trigger = (dagId: string, result: R): AuditEntry => ({ action: "trigger", dagId, target: String(result?.runId ?? ""), details: { logicalDate: result?.logicalDate ?? null } });

/** operationId → the audit entry of one successful call. */
export const AUDITED_OPERATIONS: Record<string, Describe> = {
  triggerRun: (p, _b, r) => trigger(p.dagId ?? "", r),
  runPipelineOnce: (p, _b, r) => trigger(p.pipelineId ?? "", r),
  patchDag: (p, b) => ({ action: b.isPaused ? "pause" : "unpause", dagId: p.dagId }),
  markRun: (p, b) => ({ action: "mark", dagId: p.dagId, target: p.runId, details: { state: b.state } }),
  clearRun: (p, b, r) => ({ action: "clear", dagId: p.dagId, target: p.runId, details: { tasks: r?.cleared ?? [], downstream: b.downstream === true, onlyFailed: b.onlyFailed === true } }),
  markTaskInstance: (p, b) => ({ action: "mark", dagId: p.dagId, target: p.runId, details: { tasks: [p.taskId], state: b.state } }),
  clearTaskInstance: (p, b, r) => (b.dryRun === true ? null : { action: "clear", dagId: p.dagId, target: p.runId, details: { tasks: r?.cleared ?? [], downstream: b.downstream === true, upstream: b.upstream === true, onlyFailed: b.onlyFailed === true } }),
  setRoute: (p, b) => ({ action: "route.set", dagId: dagOfTarget(p.target ?? ""), target: p.target, details: { queue: b.queue, fallbacks: b.fallbacks ?? [] } }),
  deleteRoute: (p) => ({ action: "route.rm", dagId: dagOfTarget(p.target ?? ""), target: p.target }),
  setPool: (p, b) => ({ action: "pool.set", target: p.name, details: { slots: b.slots } }),
  deletePool: (p) => ({ action: "pool.delete", target: p.name }),
  addConnection: (_p, b, r) => ({ action: "connection.set", target: String(b.connId ?? ""), details: { type: r?.connType ?? b.connType ?? null, host: r?.host ?? null } }),
  deleteConnection: (p) => ({ action: "connection.delete", target: p.connId }),
  setVariable: (p, b) => ({ action: "variable.set", target: p.key, details: { secret: b.secret === true } }),
  deleteVariable: (p) => ({ action: "variable.delete", target: p.key }),
};

/** Records a successful state-changing call; an audit failure is logged, never turned into a failed request. */
export async function recordApiAudit(store: Store, operationId: string, principal: Principal, input: { params: unknown; body: unknown; result: unknown }, log: (line: string) => void): Promise<void> {
  const describe = AUDITED_OPERATIONS[operationId];
  if (!describe) return;
  try {
    const e = describe((input.params ?? {}) as P, (input.body ?? {}) as B, input.result as R);
    if (!e) return;
    await store.recordAudit({ actor: principal.name, via: "api", action: e.action, dagId: e.dagId ?? null, target: e.target ?? null, details: e.details ?? {} });
  } catch (err) {
    log(`warning: ${operationId} succeeded but could not be written to the audit log: ${(err as Error).message}`);
  }
}
