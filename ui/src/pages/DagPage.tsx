import { useState } from "react";
import { seg } from "../api";
import { Graph } from "../components/Graph";
import { GridView } from "../components/GridView";
import { CalendarView } from "../components/CalendarView";
import { CodeView } from "../components/CodeView";
import { DurationChart } from "../components/DurationChart";
import { GanttChart } from "../components/GanttChart";
import { Link } from "../components/Link";
import { PausedToggle } from "../components/PausedToggle";
import { RunPanel } from "../components/RunPanel";
import { StateBadge } from "../components/State";
import { TaskPanel } from "../components/TaskPanel";
import { TriggerDialog } from "../components/TriggerDialog";
import { useResource } from "../data";
import { formatDate } from "../format";
import { setQuery } from "../router";
import { useCanAct } from "../session";
import type { DagDetail, Grid, PipelineView } from "../types";

/** The DAG page's views, in the order of its tabs. */
const TABS = ["grid", "graph", "gantt", "durations", "calendar", "code", "details"] as const;
/** Views that show runs (and the "Runs" count). */
const RUN_TABS: ReadonlySet<string> = new Set(["grid", "graph", "gantt", "durations"]);

/** A DAG: header, grid or graph of its runs, and the selected run or task instance. */
export function DagPage({ dagId, query }: { dagId: string; query: URLSearchParams }) {
  const canAct = useCanAct();
  const tab = TABS.find((t) => t === query.get("tab")) ?? "grid";
  const runCount = Number(query.get("runs") ?? 25) || 25;
  const runId = query.get("run");
  const taskId = query.get("task");
  const mine = (c: { dagId: string | null }) => c.dagId === dagId;
  const dag = useResource<DagDetail>(`/dags/${seg(dagId)}`, (c) => mine(c) && c.kind === "dag");
  const grid = useResource<Grid>(`/dags/${seg(dagId)}/grid?limit=${runCount}`, (c) => mine(c) && (c.kind === "run" || c.kind === "task"));
  const pipeline = useResource<PipelineView>(dag.data?.isPipeline ? `/pipelines/${seg(dagId)}` : null, (c) => mine(c) && c.kind === "dag");
  const [triggering, setTriggering] = useState(false);

  if (dag.error) {
    return (
      <div className="page">
        <div className="error-box">{dag.error.message}</div>
        <Link to="/">Back to DAGs</Link>
      </div>
    );
  }
  const d = dag.data;
  const runs = grid.data?.runs ?? [];
  // Without a selection, the graph shows the newest run.
  const selectedRun = runs.find((r) => r.runId === runId) ?? (tab === "graph" || tab === "gantt" ? runs[runs.length - 1] : undefined);

  const select = (run: string | null, task: string | null) => setQuery({ run, task, try: null });

  return (
    <div className="page dag-page">
      <div className="page-head">
        <div className="crumbs">
          <Link to="/">DAGs</Link> <span className="muted">/</span>
        </div>
        {d && <PausedToggle dagId={dagId} paused={d.isPaused} onChanged={dag.reload} />}
        <h1 data-dag-id={dagId}>{dagId}</h1>
        {d?.tags.map((t) => <span key={t} className="tag small">{t}</span>)}
        <div className="spacer" />
        {d && (
          <div className="meta-inline">
            <span title="Schedule"><code className="sched">{d.scheduleDatasets.length > 0 ? `on datasets: ${d.scheduleDatasets.join(", ")}` : d.schedule ?? "manual"}</code></span>
            <span className="muted" title={d.nextLogicalDate ? `Next scheduled run: logical date ${formatDate(d.nextLogicalDate)}, starts when its interval ends` : "Next scheduled run"}>next {d.isPaused || !d.nextRunAt ? "—" : formatDate(d.nextRunAt)}</span>
          </div>
        )}
        <button className="btn primary" data-action="trigger" disabled={!canAct || !d} title={canAct ? "Trigger a run" : "Needs an admin token"} onClick={() => setTriggering(true)}>
          ▶ Trigger
        </button>
      </div>
      {d?.description && <p className="muted desc">{d.description}</p>}
      {d?.isPaused && d.pausedReason && (
        <div className="pause-reason" data-testid="paused-reason">Paused by Airlock: {d.pausedReason}. Unpause with the switch above.</div>
      )}
      {d?.catchupWarning && <div className="warning-box" data-testid="catchup-warning" role="alert">⚠ {d.catchupWarning}</div>}
      <div className="tabs">
        {TABS.map((t) => (
          <button key={t} className={tab === t ? "on" : ""} data-tab={t} onClick={() => setQuery({ tab: t === "grid" ? null : t })}>
            {t[0]?.toUpperCase() + t.slice(1)}
          </button>
        ))}
        <div className="spacer" />
        {RUN_TABS.has(tab) && (
          <label className="muted small">
            Runs{" "}
            <select value={runCount} onChange={(e) => setQuery({ runs: e.target.value === "25" ? null : e.target.value })}>
              {[10, 25, 50, 100].map((n) => <option key={n} value={n}>{n}</option>)}
            </select>
          </label>
        )}
      </div>
      <div className="split">
        <section className="main-pane">
          {tab === "grid" && grid.data && (
            <GridView grid={grid.data} selectedRun={runId} selectedTask={taskId} onSelect={select} />
          )}
          {tab === "graph" && d && (
            <Graph dag={d} pipeline={pipeline.data} run={selectedRun} selectedTask={taskId} onSelectTask={(t) => select(selectedRun?.runId ?? null, t)} />
          )}
          {tab === "gantt" && selectedRun && (
            <GanttChart dagId={dagId} runId={selectedRun.runId} onSelectTask={(t) => select(selectedRun.runId, t)} />
          )}
          {tab === "durations" && <DurationChart dagId={dagId} runs={runCount} />}
          {tab === "calendar" && <CalendarView dagId={dagId} />}
          {tab === "code" && <CodeView dagId={dagId} />}
          {tab === "details" && d && <DagDetails dag={d} />}
          {grid.data && runs.length === 0 && RUN_TABS.has(tab) && <div className="empty">No runs yet. Trigger one to see it here.</div>}
        </section>
        <aside className="side-pane">
          {runId && taskId ? (
            <TaskPanel dagId={dagId} runId={runId} taskId={taskId} tryParam={query.get("try")} mapParam={query.get("map")} onClose={() => select(runId, null)} />
          ) : runId ? (
            <RunPanel dagId={dagId} runId={runId} onClose={() => select(null, null)} />
          ) : (
            <DagSummaryPanel dag={d} grid={grid.data} />
          )}
        </aside>
      </div>
      {triggering && d && (
        <TriggerDialog
          dag={d}
          onClose={() => setTriggering(false)}
          onTriggered={(newRunId) => {
            setTriggering(false);
            select(newRunId, null);
          }}
        />
      )}
    </div>
  );
}

function DagSummaryPanel({ dag, grid }: { dag: DagDetail | undefined; grid: Grid | undefined }) {
  if (!dag) return null;
  const counts = new Map<string, number>();
  for (const r of grid?.runs ?? []) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return (
    <div className="panel">
      <h2>Overview</h2>
      <dl className="kv">
        <dt>Tasks</dt><dd>{dag.tasks.length}</dd>
        <dt>Schedule</dt><dd><code>{dag.schedule ?? "manual only"}</code> ({dag.timezone})</dd>
        <dt>Max active runs</dt><dd>{dag.maxActiveRuns}</dd>
        <dt>File</dt><dd className="ellipsis" title={dag.fileloc}><code>{dag.fileloc}</code></dd>
        <dt>Parsed</dt><dd>{formatDate(dag.lastParsedAt)}</dd>
      </dl>
      <h3>Recent runs</h3>
      <div className="state-counts">
        {[...counts].map(([s, n]) => (
          <span key={s}><StateBadge state={s} /> {n}</span>
        ))}
        {counts.size === 0 && <span className="muted">none</span>}
      </div>
      <p className="muted small">Select a run (column header) or a task instance (cell) to see details and logs.</p>
    </div>
  );
}

function DagDetails({ dag }: { dag: DagDetail }) {
  return (
    <div className="details">
      <table className="table">
        <thead>
          <tr><th>Task</th><th>Operator</th><th>Upstream</th><th>Trigger rule</th><th>Retries</th><th>Environment</th><th>Pool / queue</th></tr>
        </thead>
        <tbody>
          {dag.tasks.map((t) => (
            <tr key={t.taskId}>
              <td><code>{t.taskId}</code>{t.doc && <div className="muted small">{t.doc}</div>}</td>
              <td>{t.kind}</td>
              <td>{t.upstream.join(", ") || "—"}</td>
              <td>{t.triggerRule}</td>
              <td className="num">{t.retries}</td>
              <td>{t.environment ?? "—"}{t.backend ? ` (${t.backend})` : ""}</td>
              <td>{t.pool} / {t.queue}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Params</h3>
      <pre className="json">{JSON.stringify(dag.params, null, 2)}</pre>
      {dag.paramsSchema && (
        <>
          <h3>Params schema</h3>
          <pre className="json">{JSON.stringify(dag.paramsSchema, null, 2)}</pre>
        </>
      )}
    </div>
  );
}
