import { memo, useEffect, useRef, useState, type MouseEvent } from "react";
import { useNow } from "../data";
import { formatDate, formatDuration, plural } from "../format";
import type { Grid, GridRun } from "../types";

/**
 * Runs (columns, newest on the right, labelled with their logical dates; bars as tall as the run took) × tasks (rows,
 * in declared order, filterable), each cell coloured by state. Built for big DAGs
 * (100 × 100 and more): cells are bare elements carrying only their state; clicks and the hover card are
 * handled once for the whole grid, and a cell's run is found from its column.
 */
export const GridView = memo(function GridView({ grid, selectedRun, selectedTask, onSelect }: {
  grid: Grid;
  selectedRun: string | null;
  selectedTask: string | null;
  onSelect: (runId: string | null, taskId: string | null) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<{ x: number; y: number; run: GridRun; task: string | null } | null>(null);
  const [filter, setFilter] = useState("");
  // Running runs' bars grow while they run.
  const now = useNow(grid.runs.some((r) => r.state === "running"));
  const runCount = grid.runs.length;
  useEffect(() => {
    // Newest runs are on the right: start scrolled there.
    const el = scroller.current;
    if (el) el.scrollLeft = el.scrollWidth;
  }, [runCount]);
  useEffect(() => {
    // Lets benchmarks read when this grid was first painted (performance entry "airlock:grid-painted").
    requestAnimationFrame(() => performance.mark("airlock:grid-painted", { detail: { runs: grid.runs.length, tasks: grid.tasks.length } }));
  }, [grid]);

  /** The run and task under an element of the grid, if any. */
  const locate = (target: EventTarget): { run: GridRun; task: string | null } | null => {
    const el = target as HTMLElement;
    const row = el.parentElement;
    if (!row || (!el.dataset.state && !el.dataset.date)) return null;
    const column = Array.prototype.indexOf.call(row.children, el) as number;
    const run = grid.runs[column];
    if (!run) return null;
    return { run, task: row.dataset.task ?? null };
  };

  const onClick = (e: MouseEvent<HTMLDivElement>) => {
    const hit = locate(e.target);
    if (hit) onSelect(hit.run.runId, hit.task);
  };
  const onMove = (e: MouseEvent<HTMLDivElement>) => {
    const hit = locate(e.target);
    if (!hit) {
      if (hover) setHover(null);
      return;
    }
    if (hover && hover.run === hit.run && hover.task === hit.task) return;
    const rect = (e.target as HTMLElement).getBoundingClientRect();
    setHover({ ...hit, x: rect.left + rect.width / 2, y: rect.bottom + 6 });
  };

  const columns = `repeat(${runCount}, var(--cell))`;
  const selectedColumn = grid.runs.findIndex((r) => r.runId === selectedRun);
  const needle = filter.trim().toLowerCase();
  const tasks = needle ? grid.tasks.filter((t) => t.taskId.toLowerCase().includes(needle)) : grid.tasks;
  // Run bars are as tall as the run took, relative to the longest run shown.
  const durations = grid.runs.map((r) => runMs(r, now));
  const longest = Math.max(1, ...durations.filter((d): d is number => d !== null));
  return (
    <div className="grid-outer">
    <div className="grid-toolbar">
      <input className="search" type="search" placeholder="Filter tasks…" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter tasks" data-testid="grid-filter" />
      {needle && <span className="muted small" data-testid="grid-filter-count">{tasks.length} of {plural(grid.tasks.length, "task")}</span>}
    </div>
    <div className="grid-wrap" data-testid="grid" data-runs={runCount} data-tasks={grid.tasks.length}>
      <div className="grid-labels">
        <div className="grid-corner">
          <span className="muted small">{plural(runCount, "run")}</span>
        </div>
        {tasks.map((t) => (
          <div key={t.taskId} className={`grid-label ${t.taskId === selectedTask ? "sel" : ""}`} title={t.taskId}>
            {t.taskId}
          </div>
        ))}
      </div>
      <div className="grid-scroll" ref={scroller} onClick={onClick} onMouseMove={onMove} onMouseLeave={() => setHover(null)}>
        <div className="grid-dates" style={{ gridTemplateColumns: columns }}>
          {grid.runs.map((r) => (
            <div key={r.runId} className={`grid-date${r.runId === selectedRun ? " sel" : ""}`} data-date={r.logicalDate} title={`logical date ${formatDate(r.logicalDate)}`}>
              {shortDate(r.logicalDate)}
            </div>
          ))}
        </div>
        <div className="grid-head" style={{ gridTemplateColumns: columns }}>
          {grid.runs.map((r, i) => {
            const d = durations[i] ?? null;
            return (
              <div key={r.runId} className={`run-bar st-${r.state}${r.runId === selectedRun ? " sel" : ""}`} data-state={r.state} data-run={r.runId}
                data-duration-ms={d ?? ""} style={{ height: `${d === null ? 4 : Math.max(4, Math.round((36 * d) / longest))}px` }} />
            );
          })}
        </div>
        {tasks.map((t) => (
          <GridRow key={t.taskId} taskId={t.taskId} runs={grid.runs} columns={columns} selectedColumn={t.taskId === selectedTask ? selectedColumn : -1} />
        ))}
      </div>
      {hover && <HoverCard {...hover} />}
    </div>
    </div>
  );
});

/** How long a run took (or has been running), in ms; null before it started. */
function runMs(r: GridRun, now: number): number | null {
  if (!r.startDate) return null;
  const ms = (r.endDate ? Date.parse(r.endDate) : now) - Date.parse(r.startDate);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

/** "03-01 06:00": the column label of a run's logical date, in the browser's zone. */
function shortDate(iso: string): string {
  const full = formatDate(iso);
  return full.length > 5 ? full.slice(5) : full;
}

const GridRow = memo(function GridRow({ taskId, runs, columns, selectedColumn }: { taskId: string; runs: GridRun[]; columns: string; selectedColumn: number }) {
  return (
    <div className="grid-row" style={{ gridTemplateColumns: columns }} data-task={taskId}>
      {runs.map((r, i) => {
        const state = r.cells[taskId]?.state ?? "none";
        return <i key={r.runId} className={i === selectedColumn ? `cell st-${state} sel` : `cell st-${state}`} data-state={state} />;
      })}
    </div>
  );
});

function HoverCard({ x, y, run, task }: { x: number; y: number; run: GridRun; task: string | null }) {
  const cell = task ? run.cells[task] : undefined;
  return (
    <div className="hover-card" style={{ left: x, top: y }} role="tooltip">
      {task && (
        <div>
          <strong className="mono">{task}</strong> · {cell?.state.replace(/_/g, " ") ?? "not in this run"}
          {cell && cell.tryNumber > 1 ? ` · try ${cell.tryNumber}` : ""}
          {cell?.mapped && <div className="small" data-testid="hover-mapped">{mappedSummary(cell.mapped)}</div>}
        </div>
      )}
      <div className="mono small">{run.runId}</div>
      <div className="muted small">
        run {run.state} · {formatDate(run.logicalDate)} · {formatDuration(run.startDate, run.endDate)}
      </div>
    </div>
  );
}

/** "12 mapped: 10 success, 2 running". */
function mappedSummary(counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return `${total} mapped: ${Object.entries(counts).map(([s, n]) => `${n} ${s.replace(/_/g, " ")}`).join(", ")}`;
}
