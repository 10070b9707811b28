import dagre from "@dagrejs/dagre";
import { memo, useMemo } from "react";
import { navigate } from "../router";
import { seg } from "../api";
import type { DagDetail, GridRun, PipelineView } from "../types";

const NODE_W = 170;
const NODE_H = 34;

const DATA_W = 150;
const DATA_H = 26;
// Dataset nodes share dagre's id space with tasks: a prefix no task id can have keeps them apart.
const DATA = "dataset:";

interface Layout {
  width: number;
  height: number;
  nodes: Array<{ id: string; x: number; y: number; kind: string }>;
  datasets: Array<{ name: string; x: number; y: number; storage: string }>;
  edges: Array<{ from: string; to: string; points: Array<{ x: number; y: number }> }>;
}

function layoutOf(dag: DagDetail, pipeline: PipelineView | undefined): Layout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 48, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const t of dag.tasks) g.setNode(t.taskId, { width: NODE_W, height: NODE_H });
  // In a pipeline, a node's edges go through the datasets it reads and writes; other edges (sensors) stay direct.
  const viaData = new Set<string>();
  for (const d of pipeline?.datasets ?? []) {
    g.setNode(DATA + d.name, { width: DATA_W, height: DATA_H });
    if (d.producer) g.setEdge(d.producer, DATA + d.name);
    for (const c of d.consumers) {
      g.setEdge(DATA + d.name, c);
      if (d.producer) viaData.add(`${d.producer}->${c}`);
    }
  }
  for (const t of dag.tasks) for (const d of t.downstream) if (g.hasNode(d) && !viaData.has(`${t.taskId}->${d}`)) g.setEdge(t.taskId, d);
  dagre.layout(g);
  const graph = g.graph();
  return {
    width: (graph.width ?? 0) + 2,
    height: (graph.height ?? 0) + 2,
    nodes: dag.tasks.map((t) => {
      const n = g.node(t.taskId);
      return { id: t.taskId, x: n?.x ?? 0, y: n?.y ?? 0, kind: t.kind };
    }),
    datasets: (pipeline?.datasets ?? []).map((d) => {
      const n = g.node(DATA + d.name);
      return { name: d.name, x: n?.x ?? 0, y: n?.y ?? 0, storage: d.storage ? d.storage.type : "artifact" };
    }),
    edges: g.edges().map((e) => ({ from: e.v, to: e.w, points: g.edge(e)?.points ?? [] })),
  };
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
  const layout = useMemo(() => layoutOf(dag, pipeline), [dag, pipeline]);
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
