import { seg } from "../api";
import { useNow, useResource } from "../data";
import { formatDate, formatDuration } from "../format";
import type { Gantt } from "../types";

/** Tick marks of a time axis: about five, on round seconds/minutes/hours. */
function ticks(spanMs: number): number[] {
  const steps = [1e3, 5e3, 15e3, 30e3, 60e3, 300e3, 900e3, 1800e3, 3600e3, 6 * 3600e3, 86400e3];
  const step = steps.find((s) => spanMs / s <= 6) ?? 86400e3;
  const out: number[] = [];
  for (let t = step; t < spanMs; t += step) out.push(t);
  return out;
}

function label(ms: number): string {
  if (ms < 60e3) return `${Math.round(ms / 1000)}s`;
  if (ms < 3600e3) return ms % 60e3 ? `${Math.floor(ms / 60e3)}m ${Math.round((ms % 60e3) / 1000)}s` : `${ms / 60e3}m`;
  return `${Math.round(ms / 360e3) / 10}h`;
}

/** A run's tasks on a time line: one bar per task (earlier tries drawn lighter), scaled from the run's start. */
export function GanttChart({ dagId, runId, onSelectTask }: { dagId: string; runId: string; onSelectTask: (taskId: string) => void }) {
  const res = useResource<Gantt>(`/dags/${seg(dagId)}/runs/${seg(runId)}/gantt`, (c) => c.runId === runId);
  const g = res.data;
  const running = g?.run.state === "running" || g?.run.state === "queued";
  const now = useNow(running);
  if (res.error) return <div className="error-box">{res.error.message}</div>;
  if (!g) return <div className="muted empty">Loading…</div>;
  const starts = g.tasks.flatMap((t) => [t.startDate, ...t.tries.map((x) => x.startedAt)]).filter((s): s is string => !!s).map(Date.parse);
  // The axis spans the tasks' times (a run marked by hand may have ended before or after them).
  const origin = starts.length > 0 ? Math.min(...starts) : g.run.startDate ? Date.parse(g.run.startDate) : now;
  const ends = g.tasks.flatMap((t) => [t.endDate ?? (t.startDate ? new Date(now).toISOString() : null), ...t.tries.map((x) => x.endedAt)])
    .filter((s): s is string => !!s).map(Date.parse);
  const end = Math.max(...ends, origin + 1000);
  const span = end - origin;
  const pct = (iso: string | null, fallback: number) => ((iso ? Date.parse(iso) : fallback) - origin) / span * 100;
  return (
    <div className="gantt" data-testid="gantt" data-run={g.run.runId}>
      <div className="gantt-caption muted small">
        Run <code>{g.run.runId}</code> · started {formatDate(g.run.startDate)} · {formatDuration(g.run.startDate, g.run.endDate)}
      </div>
      <div className="gantt-row gantt-axis">
        <div className="gantt-label" />
        <div className="gantt-track">
          {ticks(span).map((t) => (
            <span key={t} className="gantt-tick" style={{ left: `${(t / span) * 100}%` }}>{label(t)}</span>
          ))}
        </div>
      </div>
      {g.tasks.map((t) => {
        const earlier = t.tries.filter((x) => x.tryNumber < Math.max(...t.tries.map((y) => y.tryNumber)));
        return (
          <div key={t.taskId} className="gantt-row" data-task={t.taskId}>
            <div className="gantt-label ellipsis mono" title={t.taskId}>{t.taskId}</div>
            <div className="gantt-track" onClick={() => onSelectTask(t.taskId)}>
              {earlier.map((x) => (
                <i key={x.tryNumber} className={`gantt-bar earlier st-${x.state}`} data-try={x.tryNumber}
                  style={{ left: `${pct(x.startedAt, now)}%`, width: `${Math.max(0.4, pct(x.endedAt, now) - pct(x.startedAt, now))}%` }}
                  title={`try ${x.tryNumber}: ${x.state}, ${formatDuration(x.startedAt, x.endedAt)}`} />
              ))}
              {t.startDate && (
                <i className={`gantt-bar st-${t.state}`} data-state={t.state}
                  style={{ left: `${pct(t.startDate, now)}%`, width: `${Math.max(0.4, pct(t.endDate, now) - pct(t.startDate, now))}%` }}
                  title={`${t.taskId}: ${t.state}, ${formatDate(t.startDate)} for ${formatDuration(t.startDate, t.endDate)}`} />
              )}
            </div>
          </div>
        );
      })}
      {g.tasks.length === 0 && <div className="muted empty">This run has no tasks.</div>}
    </div>
  );
}
