import { memo, useEffect, useRef, type MouseEvent } from "react";
import { formatDate, formatDuration } from "../format";
import type { Grid } from "../types";

/**
 * Runs (columns, newest on the right) × tasks (rows), each cell coloured by state. Built for big DAGs:
 * plain elements, one delegated click handler, and no per-cell components.
 */
export const GridView = memo(function GridView({ grid, selectedRun, selectedTask, onSelect }: {
  grid: Grid;
  selectedRun: string | null;
  selectedTask: string | null;
  onSelect: (runId: string | null, taskId: string | null) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const runCount = grid.runs.length;
  useEffect(() => {
    // Newest runs are on the right: start scrolled there.
    const el = scroller.current;
    if (el) el.scrollLeft = el.scrollWidth;
  }, [runCount]);

  const onClick = (e: MouseEvent<HTMLDivElement>) => {
    const el = (e.target as HTMLElement).closest<HTMLElement>("[data-run]");
    if (!el) return;
    const run = el.dataset.run ?? null;
    const task = el.dataset.task ?? null;
    onSelect(run, task);
  };

  const columns = `repeat(${runCount}, var(--cell))`;
  return (
    <div className="grid-wrap" data-testid="grid" data-runs={runCount} data-tasks={grid.tasks.length}>
      <div className="grid-labels">
        <div className="grid-corner">
          <span className="muted small">{runCount} runs</span>
        </div>
        {grid.tasks.map((t) => (
          <div key={t.taskId} className={`grid-label ${t.taskId === selectedTask ? "sel" : ""}`} title={t.taskId}>
            {t.taskId}
          </div>
        ))}
      </div>
      <div className="grid-scroll" ref={scroller} onClick={onClick}>
        <div className="grid-head" style={{ gridTemplateColumns: columns }}>
          {grid.runs.map((r) => (
            <div
              key={r.runId}
              className={`run-bar st-${r.state} ${r.runId === selectedRun ? "sel" : ""}`}
              data-state={r.state}
              data-run={r.runId}
              title={`${r.runId}\n${r.state} · ${r.runType}\n${formatDate(r.logicalDate)} · ${formatDuration(r.startDate, r.endDate)}`}
            />
          ))}
        </div>
        {grid.tasks.map((t) => (
          <div key={t.taskId} className="grid-row" style={{ gridTemplateColumns: columns }}>
            {grid.runs.map((r) => {
              const cell = r.cells[t.taskId];
              const state = cell?.state ?? "none";
              const sel = r.runId === selectedRun && t.taskId === selectedTask;
              return (
                <i
                  key={r.runId}
                  className={`cell st-${state}${sel ? " sel" : ""}${cell ? "" : " absent"}`}
                  data-state={state}
                  data-run={r.runId}
                  data-task={t.taskId}
                  title={`${t.taskId} · ${state}${cell && cell.tryNumber > 1 ? ` · try ${cell.tryNumber}` : ""}\n${r.runId}`}
                />
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
});
