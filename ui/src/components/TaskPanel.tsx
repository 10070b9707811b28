import { api, seg } from "../api";
import { useNow, useResource } from "../data";
import { formatBytes, formatDate, formatDuration } from "../format";
import { setQuery } from "../router";
import type { TaskInstance, Try } from "../types";
import { useState } from "react";
import { useCanAct } from "../session";
import { ActionButton } from "./Action";
import { ClearDialog } from "./ClearDialog";
import { LogViewer } from "./LogViewer";
import { StateBadge } from "./State";

/**
 * A task instance: state, tries, clear/mark actions and the log of the chosen try. A mapped task shows its instances
 * (counted by state, one chip each) and the chosen one's details (`?map=N`).
 */
export function TaskPanel({ dagId, runId, taskId, tryParam, mapParam, onClose }: {
  dagId: string;
  runId: string;
  taskId: string;
  tryParam: string | null;
  mapParam?: string | null;
  onClose: () => void;
}) {
  const path = `/dags/${seg(dagId)}/runs/${seg(runId)}/tasks/${seg(taskId)}`;
  const relevant = (c: { runId: string | null; taskId: string | null }) => c.runId === runId && (c.taskId === taskId || c.taskId === null);
  const all = useResource<{ taskInstances: TaskInstance[] }>(`/dags/${seg(dagId)}/runs/${seg(runId)}/tasks`, relevant);
  const instances = (all.data?.taskInstances ?? []).filter((x) => x.taskId === taskId && x.mapIndex >= 0);
  const mapIndex = instances.length > 0 ? Math.min(Math.max(0, Number(mapParam) || 0), instances.length - 1) : -1;
  const q = mapIndex >= 0 ? `?mapIndex=${mapIndex}` : "";
  const base = all.data ? path : null;
  const ti = useResource<TaskInstance>(base && `${base}${q}`, relevant);
  const tries = useResource<{ tries: Try[] }>(base && `${base}/tries${q}`, relevant);
  const t = ti.data;
  const xcom = useResource<{ value: unknown; sizeBytes: number; truncated: boolean }>(t?.state === "success" ? `${path}/xcom${q}` : null, relevant);
  // Re-render every second while running so the duration counts up.
  useNow(t?.state === "running");
  const canAct = useCanAct();
  const [clearing, setClearing] = useState(false);
  const latest = t?.tryNumber ?? 0;
  const chosen = Number(tryParam) || latest;
  const tryInfo = tries.data?.tries.find((x) => x.tryNumber === chosen);
  return (
    <div className="panel" data-testid="task-panel">
      <div className="panel-head">
        <h2 className="ellipsis" title={taskId}>{taskId}</h2>
        {t && <StateBadge state={t.state} className="task-state" />}
        <div className="spacer" />
        <button className="btn ghost small" onClick={onClose} aria-label="Close">✕</button>
      </div>
      <div className="mono small ellipsis muted" title={runId}>{runId}</div>
      {instances.length > 0 && <MappedInstances instances={instances} chosen={mapIndex} />}
      {ti.error && <div className="error-box">{ti.error.message}</div>}
      {t?.waitReason && <div className="warn-box" data-testid="wait-reason">Waiting: {t.waitReason}</div>}
      {t && (
        <>
          <dl className="kv">
            <dt>Try</dt><dd>{t.tryNumber} of {t.maxTries}</dd>
            <dt>Isolation</dt><dd data-testid="isolation">{(tryInfo?.isolation ?? t.isolation) ?? "—"}{(tryInfo ? tryInfo.reused : t.reused) ? " (reused)" : ""}</dd>
            <dt>Queue</dt><dd>{t.queue}</dd>
            {tryInfo && (<><dt>Host</dt><dd>{tryInfo.hostname}</dd></>)}
            <dt>Started</dt><dd>{formatDate(t.startDate)}</dd>
            <dt>Duration</dt><dd>{formatDuration(t.startDate, t.endDate)}</dd>
            {t.notBefore && t.state === "up_for_retry" && (<><dt>Retry at</dt><dd>{formatDate(t.notBefore)}</dd></>)}
            {t.notBefore && t.state === "up_for_reschedule" && (<><dt>Next poke</dt><dd>{formatDate(t.notBefore)}</dd></>)}
          </dl>
          <div className="actions">
            {/* As in Airflow, the clear dialog includes the downstream tasks by default. */}
            <button className="btn small" data-action="clear-task" disabled={!canAct} title={canAct ? "Choose what to clear, see it, then clear" : "Needs an admin token"} onClick={() => setClearing(true)}>Clear…</button>
            <ActionButton label="Mark success" action="mark-task-success" run={() => api(`${path}${q}`, { method: "PATCH", body: { state: "success" } })} />
            <ActionButton label="Mark failed" action="mark-task-failed" kind="danger" run={() => api(`${path}${q}`, { method: "PATCH", body: { state: "failed" } })} />
          </div>
          {clearing && <ClearDialog path={path} query={q} taskLabel={mapIndex >= 0 ? `${taskId}[${mapIndex}]` : taskId} onClose={() => setClearing(false)} />}
          {t.state === "success" && xcom.data && (
            <details className="xcom">
              <summary>Result (XCom) · {formatBytes(xcom.data.sizeBytes)}</summary>
              {xcom.data.truncated ? (
                <p className="muted small">Too large to show here; read it with the API or the CLI.</p>
              ) : (
                <pre className="json">{JSON.stringify(xcom.data.value, null, 2)}</pre>
              )}
            </details>
          )}
          {tryInfo?.error && (
            <div className="error-box">
              <strong>{tryInfo.error.type}</strong>: {tryInfo.error.message}
            </div>
          )}
          {latest > 0 ? (
            <>
              <div className="try-tabs" role="tablist">
                {Array.from({ length: latest }, (_, i) => i + 1).map((n) => {
                  const info = tries.data?.tries.find((x) => x.tryNumber === n);
                  return (
                    <button key={n} role="tab" aria-selected={n === chosen} className={n === chosen ? "on" : ""} data-try={n} data-state={info?.state ?? "none"} onClick={() => setQuery({ try: n === latest ? null : String(n) })}>
                      Try {n}
                    </button>
                  );
                })}
              </div>
              <LogViewer key={`${runId}|${taskId}|${mapIndex}|${chosen}`} dagId={dagId} runId={runId} taskId={mapIndex >= 0 ? `${taskId}[${mapIndex}]` : taskId} tryNumber={chosen} />
            </>
          ) : (
            <div className="muted empty">Not started yet: the log appears here when the first try starts.</div>
          )}
        </>
      )}
    </div>
  );
}

/** The first instances shown as chips; the others are reached by number. */
const CHIPS = 200;

/** A mapped task's instances: counts by state and one chip per instance (coloured by state) to open it. */
function MappedInstances({ instances, chosen }: { instances: TaskInstance[]; chosen: number }) {
  const counts = new Map<string, number>();
  for (const i of instances) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
  return (
    <div className="mapped" data-testid="mapped-instances" data-count={instances.length}>
      <div className="small">
        <strong>{instances.length} mapped instances</strong>
        {[...counts].map(([state, n]) => <span key={state} className="muted" data-state-count={state}> · {n} {state.replace(/_/g, " ")}</span>)}
      </div>
      <div className="map-chips">
        {instances.slice(0, CHIPS).map((i) => (
          <button key={i.mapIndex} className={`map-chip st-${i.state}${i.mapIndex === chosen ? " on" : ""}`} data-map-index={i.mapIndex}
            title={`instance ${i.mapIndex}: ${i.state}`} onClick={() => setQuery({ map: String(i.mapIndex), try: null })}>{i.mapIndex}</button>
        ))}
        {instances.length > CHIPS && (
          <input type="number" min={0} max={instances.length - 1} className="search small" aria-label="Open instance"
            placeholder={`0–${instances.length - 1}`} onChange={(e) => setQuery({ map: e.target.value || null, try: null })} />
        )}
      </div>
    </div>
  );
}
