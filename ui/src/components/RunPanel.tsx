import { api, seg } from "../api";
import { useNow, useResource } from "../data";
import { formatDate, formatDuration } from "../format";
import type { Run } from "../types";
import { ActionButton } from "./Action";
import { RunXcoms } from "./RunXcoms";
import { StateBadge } from "./State";

/** Details of a run with mark and clear actions; live over SSE. */
export function RunPanel({ dagId, runId, onClose }: { dagId: string; runId: string; onClose: () => void }) {
  const base = `/dags/${seg(dagId)}/runs/${seg(runId)}`;
  const run = useResource<Run>(base, (c) => c.runId === runId);
  const r = run.data;
  // Re-render every second while running so the duration counts up.
  useNow(r?.state === "running");
  return (
    <div className="panel" data-testid="run-panel">
      <div className="panel-head">
        <h2>Run</h2>
        {r && <StateBadge state={r.state} className="run-state" />}
        <div className="spacer" />
        <button className="btn ghost small" onClick={onClose} aria-label="Close">✕</button>
      </div>
      <div className="mono small ellipsis" title={runId}>{runId}</div>
      {run.error && <div className="error-box">{run.error.message}</div>}
      {r && (
        <>
          <dl className="kv">
            <dt>Type</dt><dd>{r.runType}</dd>
            <dt>Logical date</dt><dd>{formatDate(r.logicalDate)}</dd>
            <dt>Started</dt><dd>{formatDate(r.startDate)}</dd>
            <dt>Ended</dt><dd>{formatDate(r.endDate)}</dd>
            <dt>Duration</dt><dd>{formatDuration(r.startDate, r.endDate)}</dd>
          </dl>
          <div className="actions">
            <ActionButton label="Mark success" action="mark-run-success" run={() => api(base, { method: "PATCH", body: { state: "success" } })} />
            <ActionButton label="Mark failed" action="mark-run-failed" kind="danger" run={() => api(base, { method: "PATCH", body: { state: "failed" } })} />
            <ActionButton label="Clear failed" action="clear-run-failed" run={() => api(`${base}/clear`, { method: "POST", body: { onlyFailed: true } })} />
            <ActionButton label="Clear all" action="clear-run" confirm="Clear every task of this run so it runs again?" run={() => api(`${base}/clear`, { method: "POST", body: {} })} />
          </div>
          <h3>Conf</h3>
          <pre className="json">{JSON.stringify(r.conf, null, 2)}</pre>
          <h3>Params</h3>
          <pre className="json">{JSON.stringify(r.params, null, 2)}</pre>
          <RunXcoms dagId={dagId} runId={runId} />
        </>
      )}
    </div>
  );
}
