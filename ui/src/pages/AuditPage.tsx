import { useResource } from "../data";
import { Link } from "../components/Link";
import { formatDate, relative } from "../format";
import { setQuery } from "../router";

/** One event of GET /api/v1/audit. */
interface AuditEvent {
  eventId: number;
  at: string;
  actor: string;
  via: "api" | "cli";
  action: string;
  dagId: string | null;
  target: string | null;
  details: Record<string, unknown>;
}

const PAGE = 50;
const ACTIONS = [
  "trigger", "clear", "mark", "pause", "unpause", "delete", "backfill", "route.set", "route.rm", "pool.set", "pool.delete",
  "connection.set", "connection.delete", "variable.set", "variable.delete",
];

/** Details as short "key: value" pairs (lists joined), for a table cell. */
function detailText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, v]) => v !== null && v !== false && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(" · ");
}

/** The audit log: who triggered, cleared, marked, paused, deleted or changed what, and when (API, UI and CLI). */
export function AuditPage({ query }: { query: URLSearchParams }) {
  const dagId = query.get("dag") ?? "";
  const action = query.get("action") ?? "";
  const offset = Number(query.get("offset") ?? 0) || 0;
  const qs = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if (dagId) qs.set("dagId", dagId);
  if (action) qs.set("action", action);
  // Every recorded change also writes the change feed (a run, a task, a DAG): reload on any of them.
  const res = useResource<{ events: AuditEvent[]; total: number }>(`/audit?${qs}`, () => true);
  const events = res.data?.events ?? [];
  const total = res.data?.total ?? 0;
  return (
    <div className="page">
      <div className="page-head">
        <h1>Audit log</h1>
        <span className="muted">{res.data ? `${total} event${total === 1 ? "" : "s"}` : ""}</span>
      </div>
      <form className="inline-form audit-filters" onSubmit={(e) => e.preventDefault()}>
        <input aria-label="DAG" placeholder="DAG id" defaultValue={dagId}
          onKeyDown={(e) => { if (e.key === "Enter") setQuery({ dag: (e.target as HTMLInputElement).value.trim() || null, offset: null }); }} />
        <select aria-label="Action" value={action} onChange={(e) => setQuery({ action: e.target.value || null, offset: null })}>
          <option value="">every action</option>
          {ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}
        </select>
        {(dagId || action) && <button type="button" className="btn small ghost" onClick={() => setQuery({ dag: null, action: null, offset: null })}>Clear filters</button>}
        <button type="button" className="btn small" onClick={res.reload}>Refresh</button>
      </form>
      {res.error && <div className="error-box">{res.error.message}</div>}
      <table className="table" data-testid="audit">
        <thead>
          <tr><th>When</th><th>Who</th><th>Action</th><th>DAG</th><th>On</th><th>Details</th></tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.eventId} data-audit-action={e.action} data-audit-actor={e.actor}>
              <td title={formatDate(e.at)} className="nowrap">{relative(e.at)}</td>
              <td><strong>{e.actor}</strong> <span className="muted small">via {e.via === "cli" ? "CLI" : "API/UI"}</span></td>
              <td><span className="tag small">{e.action}</span></td>
              <td>{e.dagId ? <Link to={`/dags/${encodeURIComponent(e.dagId)}`}>{e.dagId}</Link> : <span className="muted">—</span>}</td>
              <td className="small">{e.target ?? ""}</td>
              <td className="small">{detailText(e.details)}</td>
            </tr>
          ))}
          {res.data && events.length === 0 && <tr><td colSpan={6} className="muted">No events{dagId || action ? " match the filters" : " yet"}.</td></tr>}
        </tbody>
      </table>
      {total > PAGE && (
        <div className="pager">
          <button className="btn small" disabled={offset === 0} onClick={() => setQuery({ offset: String(Math.max(0, offset - PAGE)) })}>Newer</button>
          <span className="muted small">{offset + 1}–{Math.min(total, offset + PAGE)} of {total}</span>
          <button className="btn small" disabled={offset + PAGE >= total} onClick={() => setQuery({ offset: String(offset + PAGE) })}>Older</button>
        </div>
      )}
    </div>
  );
}
