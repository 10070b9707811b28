import { useMemo, useState } from "react";
import { seg } from "../api";
import { useResource } from "../data";
import { formatDate, plural } from "../format";
import type { TaskDurations } from "../types";

const SHOWN = 200;

function secs(s: number | null | undefined): string {
  if (s == null) return "—";
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
}

/** Each task's duration over the recent runs: one row of bars per task (same scale in a row), with mean and max. */
export function DurationChart({ dagId, runs }: { dagId: string; runs: number }) {
  const res = useResource<TaskDurations>(`/dags/${seg(dagId)}/taskDurations?limit=${runs}`, (c) => c.dagId === dagId && c.kind === "run");
  const [filter, setFilter] = useState("");
  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (res.data?.tasks ?? []).filter((t) => !needle || t.taskId.toLowerCase().includes(needle));
  }, [res.data, filter]);
  if (res.error) return <div className="error-box">{res.error.message}</div>;
  const d = res.data;
  if (!d) return <div className="muted empty">Loading…</div>;
  return (
    <div className="durations" data-testid="durations" data-runs={d.runs.length}>
      <div className="chart-toolbar">
        <input className="search" type="search" placeholder="Filter tasks…" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter tasks" />
        <span className="muted small">{plural(d.runs.length, "run")}, oldest left{rows.length > SHOWN ? ` · first ${SHOWN} of ${rows.length} tasks` : ""}</span>
      </div>
      <table className="table duration-table">
        <thead><tr><th>Task</th><th>Duration per run</th><th className="num">Mean</th><th className="num">Max</th><th className="num">Last</th></tr></thead>
        <tbody>
          {rows.slice(0, SHOWN).map((t) => {
            const values = t.seconds.filter((s): s is number => s !== null);
            const max = Math.max(0, ...values);
            const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
            return (
              <tr key={t.taskId} data-task={t.taskId}>
                <td className="mono small ellipsis" title={t.taskId}>{t.taskId}</td>
                <td>
                  <div className="spark" style={{ gridTemplateColumns: `repeat(${d.runs.length}, 1fr)` }}>
                    {t.seconds.map((s, i) => {
                      const run = d.runs[i];
                      return (
                        <i key={run?.runId ?? i} className={`spark-bar st-${t.states[i] ?? "none"}`} data-seconds={s ?? ""}
                          style={{ height: `${s === null || max === 0 ? 0 : Math.max(6, (s / max) * 100)}%` }}
                          title={`${run ? formatDate(run.logicalDate) : ""}: ${secs(s)} (${t.states[i] ?? "not in run"})`} />
                      );
                    })}
                  </div>
                </td>
                <td className="num">{secs(mean)}</td>
                <td className="num">{secs(values.length ? max : null)}</td>
                <td className="num">{secs(t.seconds[t.seconds.length - 1])}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
