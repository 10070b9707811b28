import dagre from "@dagrejs/dagre";
import { memo, useMemo, useState } from "react";
import { navigate } from "../router";
import { seg } from "../api";
import type { DagDetail, GridRun, PipelineView } from "../types";

const NODE_W = 170;
const NODE_H = 34;
const DATA_W = 150;
const DATA_H = 26;
// Dataset nodes share dagre's id space with tasks: a prefix no task id can have keeps them apart.
const DATA = "dataset:";
/** Worst first: a collapsed group shows the state of its most urgent task. */
const STATE_RANK = ["failed", "upstream_failed", "up_for_retry", "running", "queued", "scheduled", "none", "skipped", "success"];

interface LaidNode {
  /** Task id, or the group path for a collapsed group. */
  id: string;
  x: number;
  y: number;
  kind: string;
  /** Set for a collapsed group: the tasks it stands for. */
  groupTasks?: string[];
}

interface Layout {
  width: number;
  height: number;
  nodes: LaidNode[];
  /** Expanded groups, drawn as boxes around their tasks; clicking the header collapses them. */
  clusters: Array<{ path: string; x: number; y: number; width: number; height: number }>;
  datasets: Array<{ name: string; x: number; y: number; storage: string }>;
  edges: Array<{ from: string; to: string; points: Array<{ x: number; y: number }> }>;
}

/** Group paths a task is in, outermost first ("a.b" → ["a", "a.b"]). */
function groupChain(group: string | null): string[] {
  if (!group) return [];
  const parts = group.split(".");
  return parts.map((_, i) => parts.slice(0, i + 1).join("."));
}

function layoutOf(dag: DagDetail, expanded: ReadonlySet<string>, pipeline: PipelineView | undefined): Layout {
  const g = new dagre.graphlib.Graph({ compound: true });
  g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 48, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  // A task is drawn as itself when every group around it is expanded, else as its outermost collapsed group.
  const visible = new Map<string, string>();
  const collapsed = new Map<string, string[]>();
  const clusters = new Set<string>();
  for (const t of dag.tasks) {
    const chain = groupChain(t.group);
    const closed = chain.find((p) => !expanded.has(p));
    const key = closed ? `group:${closed}` : t.taskId;
    visible.set(t.taskId, key);
    if (closed) collapsed.set(key, [...(collapsed.get(key) ?? []), t.taskId]);
    for (const p of closed ? chain.slice(0, chain.indexOf(closed)) : chain) clusters.add(p);
    if (!g.hasNode(key)) g.setNode(key, { width: NODE_W, height: NODE_H });
    const parent = closed ? chain[chain.indexOf(closed) - 1] : chain[chain.length - 1];
    if (parent) g.setParent(key, `cluster:${parent}`);
  }
  for (const p of clusters) {
    g.setNode(`cluster:${p}`, { paddingTop: 26 });
    const outer = groupChain(p).slice(0, -1).pop();
    if (outer) g.setParent(`cluster:${p}`, `cluster:${outer}`);
  }
  // In a pipeline, a node's edges go through the datasets it reads and writes; other edges (sensors) stay direct.
  const viaData = new Set<string>();
  for (const d of pipeline?.datasets ?? []) {
    g.setNode(DATA + d.name, { width: DATA_W, height: DATA_H });
    const producer = d.producer ? visible.get(d.producer) : undefined;
    if (producer) g.setEdge(producer, DATA + d.name);
    for (const c of d.consumers) {
      const consumer = visible.get(c);
      if (consumer) g.setEdge(DATA + d.name, consumer);
      if (d.producer) viaData.add(`${d.producer}->${c}`);
    }
  }
  for (const t of dag.tasks) {
    for (const d of t.downstream) {
      const from = visible.get(t.taskId);
      const to = visible.get(d);
      if (from && to && from !== to && !viaData.has(`${t.taskId}->${d}`)) g.setEdge(from, to);
    }
  }
  dagre.layout(g);
  const graph = g.graph();
  const kinds = new Map(dag.tasks.map((t) => [t.taskId, t.kind]));
  const nodes: LaidNode[] = [];
  for (const key of new Set(visible.values())) {
    const n = g.node(key);
    const tasks = collapsed.get(key);
    nodes.push(tasks
      ? { id: key.slice("group:".length), x: n?.x ?? 0, y: n?.y ?? 0, kind: "group", groupTasks: tasks }
      : { id: key, x: n?.x ?? 0, y: n?.y ?? 0, kind: kinds.get(key) ?? "" });
  }
  return {
    width: (graph.width ?? 0) + 2,
    height: (graph.height ?? 0) + 2,
    nodes,
    clusters: [...clusters].map((p) => {
      const n = g.node(`cluster:${p}`);
      return { path: p, x: (n?.x ?? 0) - (n?.width ?? 0) / 2, y: (n?.y ?? 0) - (n?.height ?? 0) / 2, width: n?.width ?? 0, height: n?.height ?? 0 };
    }),
    datasets: (pipeline?.datasets ?? []).map((d) => {
      const n = g.node(DATA + d.name);
      return { name: d.name, x: n?.x ?? 0, y: n?.y ?? 0, storage: d.storage ? d.storage.type : "artifact" };
    }),
    edges: g.edges().map((e) => ({ from: e.v, to: e.w, points: g.edge(e)?.points ?? [] })),
  };
}

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

/** The DAG's tasks laid out left to right (dagre), coloured by the states of one run. */
export const Graph = memo(function Graph({ dag, pipeline, run, selectedTask, onSelectTask }: {
  dag: DagDetail;
  /** A pipeline's datasets are drawn between its nodes. */
  pipeline?: PipelineView;
  run: GridRun | undefined;
  selectedTask: string | null;
  onSelectTask: (taskId: string) => void;
}) {
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const layout = useMemo(() => layoutOf(dag, expanded, pipeline), [dag, expanded, pipeline]);
  const toggle = (path: string) => setExpanded((old) => {
    const next = new Set(old);
    // Collapsing a group also collapses the groups inside it.
    if (!next.has(path)) next.add(path);
    else for (const p of old) if (p === path || p.startsWith(`${path}.`)) next.delete(p);
    return next;
  });
  return (
    <div className="graph-wrap" data-testid="graph">
      <div className="graph-caption muted small">
        {run ? <>Showing run <code>{run.runId}</code></> : "No run selected: showing the structure"}
      </div>
      <svg width={layout.width} height={layout.height} className="graph" role="img" aria-label={`Graph of ${dag.dagId}`}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="arrow" />
          </marker>
        </defs>
        {layout.clusters.map((c) => (
          <g key={c.path} className="cluster" data-group={c.path} data-expanded="true" transform={`translate(${c.x},${c.y})`}>
            <rect width={c.width} height={c.height} rx="7" />
            <text x="10" y="16" className="cluster-id" onClick={() => toggle(c.path)}>▾ {c.path}</text>
            <title>{`group ${c.path}: click its name to collapse it`}</title>
          </g>
        ))}
        {layout.edges.map((e) => (
          <polyline key={`${e.from}->${e.to}`} className="edge" markerEnd="url(#arrow)" points={e.points.map((p) => `${p.x},${p.y}`).join(" ")} />
        ))}
        {layout.datasets.map((d) => (
          <g
            key={DATA + d.name}
            className="dataset-node"
            data-dataset={d.name}
            transform={`translate(${d.x - DATA_W / 2},${d.y - DATA_H / 2})`}
            onClick={() => navigate(`/datasets/${seg(d.name)}`)}
          >
            <rect width={DATA_W} height={DATA_H} rx={DATA_H / 2} />
            <text x={DATA_W / 2} y="17" textAnchor="middle" className="node-id">{d.name.length > 20 ? `${d.name.slice(0, 19)}…` : d.name}</text>
            <title>{`dataset ${d.name} (${d.storage}): open its versions`}</title>
          </g>
        ))}
        {layout.nodes.map((n) => {
          if (n.groupTasks) {
            const g = groupState(run, n.groupTasks);
            return (
              <g key={`group:${n.id}`} className={`node group st-${g.state}`} data-group={n.id} data-expanded="false" data-state={g.state}
                transform={`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`} onClick={() => toggle(n.id)}>
                <rect width={NODE_W} height={NODE_H} rx="9" />
                <rect className="node-state" width="5" height={NODE_H} rx="2" />
                <text x="14" y="15" className="node-id">▸ {n.id.length > 20 ? `${n.id.slice(0, 19)}…` : n.id}</text>
                <text x="14" y="28" className="node-kind">{n.groupTasks.length} tasks · {g.state.replace(/_/g, " ")}</text>
                <title>{`group ${n.id} (${g.counts}): click to expand`}</title>
              </g>
            );
          }
          const state = run?.cells[n.id]?.state ?? "none";
          return (
            <g
              key={n.id}
              className={`node st-${state} ${n.id === selectedTask ? "sel" : ""}`}
              data-state={state}
              data-task={n.id}
              transform={`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`}
              onClick={() => onSelectTask(n.id)}
            >
              <rect width={NODE_W} height={NODE_H} rx="5" />
              <rect className="node-state" width="5" height={NODE_H} rx="2" />
              <text x="14" y="15" className="node-id">{n.id.length > 22 ? `${n.id.slice(0, 21)}…` : n.id}</text>
              <text x="14" y="28" className="node-kind">{n.kind} · {state.replace(/_/g, " ")}</text>
              <title>{`${n.id} (${n.kind}): ${state}`}</title>
            </g>
          );
        })}
      </svg>
    </div>
  );
});
