import { plural } from "../format";
import { memo, useEffect, useMemo, useRef, useState } from "react";
import { seg } from "../api";
import { layoutGraph, NODE_H, NODE_W, DATA_H, DATA_W, type LaidNode } from "../graph/layout";
import { useViewport } from "../graph/viewport";
import { navigate } from "../router";
import type { DagDetail, GridRun, PipelineView } from "../types";

/** Worst first: a collapsed group shows the state of its most urgent task. */
const STATE_RANK = ["failed", "upstream_failed", "up_for_retry", "running", "queued", "scheduled", "none", "skipped", "success"];
/** Below this zoom, boxes are drawn without text (it would be unreadable, and 2,000 labels cost time). */
const DETAIL_ZOOM = 0.45;
/** Drawn beyond the visible area, in screen pixels, so a short pan shows no blank edge. */
const OVERSCAN = 200;

/** The state a collapsed group shows, and its tasks counted by state ("2 success, 1 failed"). */
function groupState(run: GridRun | undefined, tasks: string[]): { state: string; counts: string } {
  const counts = new Map<string, number>();
  for (const t of tasks) {
    const s = run?.cells[t]?.state ?? "none";
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const state = STATE_RANK.find((s) => counts.has(s)) ?? "none";
  return { state, counts: [...counts].map(([s, n]) => `${n} ${s.replace(/_/g, " ")}`).join(", ") };
}

const short = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * The DAG's tasks left to right in declared order, coloured by one run's states. Opens fitted to its box; the wheel
 * and the buttons zoom, dragging pans. Only what is in view is drawn, and without text when zoomed far out, so a
 * DAG of thousands of tasks stays responsive.
 */
export const Graph = memo(function Graph({ dag, pipeline, run, selectedTask, onSelectTask }: {
  dag: DagDetail;
  /** A pipeline's datasets are drawn between its nodes. */
  pipeline?: PipelineView;
  run: GridRun | undefined;
  selectedTask: string | null;
  onSelectTask: (taskId: string) => void;
}) {
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const datasets = useMemo(() => (pipeline?.datasets ?? []).map((d) => ({ ...d, storage: d.storage ? d.storage.type : "artifact" })), [pipeline]);
  const layout = useMemo(() => layoutGraph(dag.tasks, expanded, datasets), [dag.tasks, expanded, datasets]);
  const box = useRef<HTMLDivElement>(null);
  const view = useViewport(box, layout.width, layout.height, `${dag.dagId}:${dag.versionHash}:${datasets.length}`);
  const { transform: t, size } = view;
  const toggle = (path: string) => setExpanded((old) => {
    const next = new Set(old);
    // Collapsing a group also collapses the groups inside it.
    if (!next.has(path)) next.add(path);
    else for (const p of old) if (p === path || p.startsWith(`${path}.`)) next.delete(p);
    return next;
  });

  // The visible area in drawing coordinates.
  const vx0 = (-t.x - OVERSCAN) / t.k;
  const vy0 = (-t.y - OVERSCAN) / t.k;
  const vx1 = (size.width - t.x + OVERSCAN) / t.k;
  const vy1 = (size.height - t.y + OVERSCAN) / t.k;
  const inView = (n: LaidNode) => n.x + n.width / 2 >= vx0 && n.x - n.width / 2 <= vx1 && n.y + n.height / 2 >= vy0 && n.y - n.height / 2 <= vy1;
  const nodes = size.width === 0 ? [] : layout.nodes.filter(inView);
  const edges = size.width === 0 ? [] : layout.edges.filter((e) => e.maxX >= vx0 && e.minX <= vx1 && e.maxY >= vy0 && e.minY <= vy1);
  const detail = t.k >= DETAIL_ZOOM;
  const ready = size.width > 0;
  useEffect(() => {
    // Lets benchmarks read when the graph was first drawn (performance entry "airlock:graph-painted").
    if (ready) requestAnimationFrame(() => performance.mark("airlock:graph-painted", { detail: { nodes: layout.nodes.length } }));
  }, [ready, layout]);
  const [findText, setFindText] = useState("");
  const [notFound, setNotFound] = useState(false);
  /** Zooms to 100 % on the first task whose id is or contains `text` (or the collapsed group holding it) and selects it. */
  const find = (text: string) => {
    const q = text.trim().toLowerCase();
    if (!q) return;
    const hit = layout.nodes.find((n) => n.type === "task" && n.id.toLowerCase() === q)
      ?? layout.nodes.find((n) => n.type === "task" && n.id.toLowerCase().includes(q))
      ?? layout.nodes.find((n) => n.groupTasks?.some((id) => id.toLowerCase().includes(q)));
    setNotFound(!hit);
    if (!hit) return;
    view.focus(hit.x, hit.y, 1);
    if (hit.type === "task") onSelectTask(hit.id);
  };
  // One click handler for the whole drawing (the boxes are pure, so zooming re-renders none of them).
  const onClick = (e: React.MouseEvent) => {
    if (view.wasDrag()) return;
    const el = (e.target as Element).closest("[data-task], [data-group], [data-dataset], [data-toggle]");
    if (!el) return;
    const toggleOf = el.getAttribute("data-toggle");
    if (toggleOf !== null) toggle(toggleOf);
    else if (el.hasAttribute("data-task")) onSelectTask(el.getAttribute("data-task") as string);
    else if (el.hasAttribute("data-dataset")) navigate(`/datasets/${seg(el.getAttribute("data-dataset") as string)}`);
    else if (el.classList.contains("node")) toggle(el.getAttribute("data-group") as string);
  };

  return (
    <div className="graph-wrap" data-testid="graph" data-nodes={layout.nodes.length} data-drawn={nodes.length} data-ready={String(ready)}>
      <div className="graph-toolbar">
        <span className="graph-caption muted small">
          {run ? <>Showing run <code>{run.runId}</code></> : "No run selected: showing the structure"}
        </span>
        <div className="spacer" />
        <form className="graph-find" onSubmit={(e) => {
          e.preventDefault();
          find(findText);
        }}>
          <input type="search" placeholder="Find task…" value={findText} onChange={(e) => setFindText(e.target.value)} aria-label="Find task" data-testid="graph-find" />
          {notFound && <span className="inline-error" role="alert">no task matches</span>}
        </form>
        <span className="muted small" data-testid="graph-zoom">{Math.round(t.k * 100)} %</span>
        <button className="btn small" data-action="graph-zoom-out" title="Zoom out" onClick={() => view.zoomBy(1 / 1.25)}>−</button>
        <button className="btn small" data-action="graph-zoom-in" title="Zoom in" onClick={() => view.zoomBy(1.25)}>+</button>
        <button className="btn small" data-action="graph-fit" title="Show the whole graph" onClick={view.fit}>Fit</button>
      </div>
      <div className="graph-box" ref={box} onPointerDown={view.onPointerDown} onClick={onClick}>
        <svg className={detail ? "graph" : "graph lod"} role="img" aria-label={`Graph of ${dag.dagId}`} width="100%" height="100%">
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" className="arrow" />
            </marker>
          </defs>
          <g className="viewport" data-k={t.k.toFixed(4)} data-x={t.x.toFixed(1)} data-y={t.y.toFixed(1)} transform={`translate(${t.x},${t.y}) scale(${t.k})`}>
            {layout.clusters.map((c) => (
              <g key={c.path} className="cluster" data-group={c.path} data-expanded="true" transform={`translate(${c.x},${c.y})`}>
                <rect width={c.width} height={c.height} rx="7" />
                <text x="10" y="17" className="cluster-id" data-toggle={c.path}>▾ {c.path}</text>
                <title>{`group ${c.path}: click its name to collapse it`}</title>
              </g>
            ))}
            {edges.map((e) => <path key={`${e.from}->${e.to}`} className="edge" markerEnd={detail ? "url(#arrow)" : undefined} d={e.path} />)}
            {nodes.map((n) => n.type === "dataset"
              ? <DatasetBox key={`dataset:${n.id}`} n={n} detail={detail} />
              : n.groupTasks
                ? <GroupBox key={`group:${n.id}`} n={n} detail={detail} {...groupState(run, n.groupTasks)} />
                : <TaskBox key={n.id} n={n} detail={detail} state={run?.cells[n.id]?.state ?? "none"} mapped={run?.cells[n.id]?.mapped} selected={n.id === selectedTask} />)}
          </g>
        </svg>
      </div>
    </div>
  );
});

/** A mapped task's instances counted by state, most urgent first: [["failed", 1], ["success", 4]]. */
function mappedCounts(mapped: Record<string, number> | undefined): Array<[string, number]> {
  if (!mapped) return [];
  const rank = (s: string) => (STATE_RANK.includes(s) ? STATE_RANK.indexOf(s) : STATE_RANK.length);
  return Object.entries(mapped).filter(([, n]) => n > 0).sort((a, b) => rank(a[0]) - rank(b[0]));
}

/**
 * A task box; pure, so a pan or zoom that keeps it in view does not re-render it. A mapped task shows its instance
 * count, a bar of its instances by state, and the counts ("×5 · 1 failed, 4 success"); a click opens its instances.
 */
const TaskBox = memo(function TaskBox({ n, detail, state, mapped, selected }: { n: LaidNode; detail: boolean; state: string; mapped?: Record<string, number>; selected: boolean }) {
  const counts = mappedCounts(mapped);
  const total = counts.reduce((sum, [, c]) => sum + c, 0);
  const text = counts.map(([s, c]) => `${c} ${s.replace(/_/g, " ")}`).join(", ");
  let x = 5;
  return (
    <g className={`node st-${state} ${selected ? "sel" : ""}`} data-state={state} data-task={n.id} data-mapped={total > 0 ? counts.map(([s, c]) => `${s}:${c}`).join(",") : undefined}
      transform={`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`}>
      <rect width={NODE_W} height={NODE_H} rx="5" />
      <rect className="node-state" width={detail ? 5 : NODE_W} height={NODE_H} rx={detail ? 2 : 5} />
      {detail && <text x="14" y="15" className="node-id">{short(n.id, 22)}</text>}
      {detail && (total > 0
        ? <text x="14" y="27" className="node-kind node-mapped">{short(`×${total} · ${text}`, 30)}</text>
        : <text x="14" y="28" className="node-kind">{n.kind} · {state.replace(/_/g, " ")}</text>)}
      {detail && counts.map(([s, c]) => {
        const w = ((NODE_W - 6) * c) / total;
        const bar = <rect key={s} className="map-bar" data-bar-state={s} x={x} y={NODE_H - 4} width={w} height={3} style={{ fill: `var(--st-${s})` }} />;
        x += w;
        return bar;
      })}
      <title>{total > 0 ? `${n.id} (${n.kind}), mapped into ${total} instances: ${text}; click to open one` : `${n.id} (${n.kind}): ${state}`}</title>
    </g>
  );
});

/** A collapsed group: one box with its tasks' most urgent state; a click opens it. */
const GroupBox = memo(function GroupBox({ n, detail, state, counts }: { n: LaidNode; detail: boolean; state: string; counts: string }) {
  return (
    <g className={`node group st-${state}`} data-group={n.id} data-expanded="false" data-state={state} transform={`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`}>
      <rect width={NODE_W} height={NODE_H} rx="9" />
      <rect className="node-state" width={detail ? 5 : NODE_W} height={NODE_H} rx={detail ? 2 : 9} />
      {detail && <text x="14" y="15" className="node-id">▸ {short(n.id, 20)}</text>}
      {detail && <text x="14" y="28" className="node-kind">{plural(n.groupTasks?.length ?? 0, "task")} · {state.replace(/_/g, " ")}</text>}
      <title>{`group ${n.id} (${counts}): click to expand`}</title>
    </g>
  );
});

/** A pipeline dataset between the node writing it and those reading it; a click opens its versions. */
const DatasetBox = memo(function DatasetBox({ n, detail }: { n: LaidNode; detail: boolean }) {
  return (
    <g className="dataset-node" data-dataset={n.id} transform={`translate(${n.x - DATA_W / 2},${n.y - DATA_H / 2})`}>
      <rect width={DATA_W} height={DATA_H} rx={DATA_H / 2} />
      {detail && <text x={DATA_W / 2} y="17" textAnchor="middle" className="node-id">{short(n.id, 20)}</text>}
      <title>{`dataset ${n.id} (${n.kind}): open its versions`}</title>
    </g>
  );
});
