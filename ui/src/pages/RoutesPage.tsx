import { useState, type FormEvent } from "react";
import { api, failureText, seg } from "../api";
import { ActionButton } from "../components/Action";
import { useResource } from "../data";
import { relative } from "../format";
import { useCanAct } from "../session";
import type { Route } from "../types";

/** The routing map: which queue (server) runs a DAG or one task, with fallbacks; set and removed here or by CLI. */
export function RoutesPage() {
  const res = useResource<{ routes: Route[] }>("/routes");
  const canAct = useCanAct();
  const [target, setTarget] = useState("");
  const [queue, setQueue] = useState("");
  const [fallbacks, setFallbacks] = useState("");
  const [error, setError] = useState<string | null>(null);
  const routes = res.data?.routes ?? [];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const list = fallbacks.split(",").map((f) => f.trim()).filter(Boolean);
      await api(`/routes/${seg(target.trim())}`, { method: "PUT", body: { queue: queue.trim(), fallbacks: list } });
      setTarget("");
      setQueue("");
      setFallbacks("");
      res.reload();
    } catch (err) {
      setError(failureText(err));
    }
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Routes</h1>
        <span className="muted">{res.data ? `${routes.length} total` : ""}</span>
      </div>
      {res.error && <div className="error-box">{res.error.message}</div>}
      {canAct && (
        <form className="route-form" onSubmit={submit} data-testid="route-form">
          <input name="target" placeholder="dag or dag.task" value={target} onChange={(e) => setTarget(e.target.value)} required />
          <input name="queue" placeholder="queue" value={queue} onChange={(e) => setQueue(e.target.value)} required />
          <input name="fallbacks" placeholder="fallback queues, comma-separated" value={fallbacks} onChange={(e) => setFallbacks(e.target.value)} />
          <button className="btn small primary" type="submit" data-action="set-route">Set route</button>
          {error && <span className="inline-error" role="alert">{error}</span>}
        </form>
      )}
      <table className="table" data-testid="routes">
        <thead>
          <tr><th>DAG or task</th><th>Queue</th><th>Fallbacks</th><th>Set by</th><th>When</th><th /></tr>
        </thead>
        <tbody>
          {routes.map((r) => (
            <tr key={r.target} data-route={r.target}>
              <td><strong>{r.target}</strong></td>
              <td><span className="tag small">{r.queue}</span></td>
              <td>{r.fallbacks.length === 0 ? <span className="muted">—</span> : r.fallbacks.map((q) => <span key={q} className="tag small">{q}</span>)}</td>
              <td className="small">{r.updatedBy}</td>
              <td>{relative(r.updatedAt)}</td>
              <td>
                <ActionButton label="Remove" action="remove-route" kind="danger" confirm={`Remove the route of ${r.target}?`}
                  run={async () => {
                    await api(`/routes/${seg(r.target)}`, { method: "DELETE" });
                    res.reload();
                  }} />
              </td>
            </tr>
          ))}
          {res.data && routes.length === 0 && (
            <tr><td colSpan={6} className="empty">No routes: every task runs on its own queue. Add one above or with <code>airlock routes set</code>.</td></tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
