import { useEffect } from "react";
import { seg } from "../api";
import { Link } from "../components/Link";
import { useResource } from "../data";
import { relative } from "../format";
import type { Worker } from "../types";

/** How often the page refreshes: heartbeats are not on the change feed. */
const REFRESH_MS = 3000;

/** The worker fleet: live, lost and stopped workers with host, queues, backends, heartbeat and running tries. */
export function WorkersPage() {
  const res = useResource<{ workers: Worker[] }>("/workers");
  const { reload } = res;
  useEffect(() => {
    const t = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(t);
  }, [reload]);
  const workers = res.data?.workers ?? [];
  const live = workers.filter((w) => w.state === "live").length;
  return (
    <div className="page">
      <div className="page-head">
        <h1>Workers</h1>
        <span className="muted">{res.data ? `${live} live of ${workers.length}` : ""}</span>
      </div>
      {res.error && <div className="error-box">{res.error.message}</div>}
      <table className="table" data-testid="workers">
        <thead>
          <tr><th>Worker</th><th>Host</th><th>State</th><th>Queues</th><th>Backends</th><th>Version</th><th>Started</th><th>Heartbeat</th><th>Running tries</th></tr>
        </thead>
        <tbody>
          {workers.map((w) => (
            <tr key={w.workerId} data-worker={w.workerId}>
              <td className="mono small">{w.workerId}</td>
              <td>{w.hostname}</td>
              <td><span className={`badge worker-${w.state}`} data-worker-state={w.state}>{w.state}</span></td>
              <td>{w.queues.map((q) => <span key={q} className="tag small">{q}</span>)}</td>
              <td className="small">{w.backends.join(", ")}</td>
              <td className="small">{w.version}</td>
              <td>{relative(w.startedAt)}</td>
              <td>{relative(w.heartbeatAt)}</td>
              <td>
                {w.runningTries.length === 0 && <span className="muted">—</span>}
                {w.runningTries.map((t) => (
                  <Link key={`${t.runId}.${t.taskId}.${t.tryNumber}`} className="tag small" to={`/dags/${seg(t.dagId)}?run=${seg(t.runId)}&task=${seg(t.taskId)}`}>
                    {t.dagId}.{t.taskId} #{t.tryNumber}
                  </Link>
                ))}
              </td>
            </tr>
          ))}
          {res.data && workers.length === 0 && (
            <tr><td colSpan={9} className="empty">No workers yet. Start one with <code>airlock worker</code> or <code>airlock standalone</code>.</td></tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
