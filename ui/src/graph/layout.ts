/**
 * Lays out a DAG left to right in linear time: a task's column is its longest path from a root, tasks in a column
 * keep the order they were declared in, and each expanded task group gets its own horizontal band (so group boxes
 * never overlap). Pure data in, coordinates out: no DOM, so 2,000 tasks lay out in milliseconds.
 */

/** A task as the layout needs it (the API's TaskView has more). */
export interface LayoutTask {
  taskId: string;
  kind: string;
  downstream: string[];
  /** Group path ("extract", nested "extract.files"); null outside groups. */
  group: string | null;
}

/** A pipeline dataset drawn between the node writing it and those reading it. */
export interface LayoutDataset {
  name: string;
  producer: string | null;
  consumers: string[];
  storage: string;
}

/** A drawn box: a task, a collapsed group or a dataset. */
export interface LaidNode {
  /** Task id, group path (collapsed group) or dataset name. */
  id: string;
  type: "task" | "group" | "dataset";
  /** Centre. */
  x: number;
  y: number;
  width: number;
  height: number;
  kind: string;
  /** A collapsed group's tasks. */
  groupTasks?: string[];
}

/** An edge as a cubic curve from the right side of one box to the left side of another. */
export interface LaidEdge {
  from: string;
  to: string;
  path: string;
  /** Bounding box, for drawing only the edges in view. */
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** An expanded group: a box around its tasks; its name collapses it. */
export interface LaidCluster {
  path: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The whole picture. */
export interface GraphLayout {
  width: number;
  height: number;
  nodes: LaidNode[];
  edges: LaidEdge[];
  clusters: LaidCluster[];
}

export const NODE_W = 170;
export const NODE_H = 34;
export const DATA_W = 150;
export const DATA_H = 26;
const COLUMN = NODE_W + 56;
const ROW = NODE_H + 12;
const MARGIN = 16;
const CLUSTER_TOP = 26;
const CLUSTER_PAD = 10;

/** Group paths a task is in, outermost first ("a.b" → ["a", "a.b"]). */
export function groupChain(group: string | null): string[] {
  if (!group) return [];
  const parts = group.split(".");
  return parts.map((_, i) => parts.slice(0, i + 1).join("."));
}

interface Item {
  key: string;
  node: Omit<LaidNode, "x" | "y">;
  /** Expanded groups the item is drawn inside, outermost first. */
  clusters: string[];
  index: number;
  rank: number;
}

interface Band {
  path: string;
  items: Item[];
  children: Band[];
}

/** Lays out `tasks` (in declared order) with the groups in `expanded` open and the others collapsed. */
export function layoutGraph(tasks: readonly LayoutTask[], expanded: ReadonlySet<string>, datasets: readonly LayoutDataset[] = []): GraphLayout {
  const items = new Map<string, Item>();
  const keyOf = new Map<string, string>();
  const add = (key: string, make: () => Omit<Item, "index" | "rank">) => {
    let item = items.get(key);
    if (!item) {
      item = { ...make(), index: items.size, rank: 0 };
      items.set(key, item);
    }
    return item;
  };
  for (const t of tasks) {
    const chain = groupChain(t.group);
    const closedAt = chain.findIndex((p) => !expanded.has(p));
    if (closedAt < 0) {
      add(t.taskId, () => ({ key: t.taskId, node: { id: t.taskId, type: "task", width: NODE_W, height: NODE_H, kind: t.kind }, clusters: chain }));
      keyOf.set(t.taskId, t.taskId);
    } else {
      const path = chain[closedAt] as string;
      const key = `group:${path}`;
      const item = add(key, () => ({ key, node: { id: path, type: "group", width: NODE_W, height: NODE_H, kind: "group", groupTasks: [] }, clusters: chain.slice(0, closedAt) }));
      item.node.groupTasks?.push(t.taskId);
      keyOf.set(t.taskId, key);
    }
  }
  // Edges between drawn items; in a pipeline, a node's edges to its readers go through the datasets.
  const out = new Map<string, Set<string>>();
  const link = (a: string | undefined, b: string | undefined) => {
    if (!a || !b || a === b) return;
    let set = out.get(a);
    if (!set) out.set(a, (set = new Set()));
    set.add(b);
  };
  const viaData = new Set<string>();
  for (const d of datasets) {
    const key = `dataset:${d.name}`;
    add(key, () => ({ key, node: { id: d.name, type: "dataset", width: DATA_W, height: DATA_H, kind: d.storage }, clusters: [] }));
    link(d.producer ? keyOf.get(d.producer) : undefined, key);
    for (const c of d.consumers) {
      link(key, keyOf.get(c));
      if (d.producer) viaData.add(`${d.producer}->${c}`);
    }
  }
  for (const t of tasks) for (const d of t.downstream) if (!viaData.has(`${t.taskId}->${d}`)) link(keyOf.get(t.taskId), keyOf.get(d));

  rank(items, out);
  const laid = new Map<string, LaidNode>();
  const clusters: LaidCluster[] = [];
  const root = bands(items);
  const { bottom } = place(root, MARGIN, laid, clusters, 0);
  let maxRank = 0;
  for (const it of items.values()) maxRank = Math.max(maxRank, it.rank);

  const edges: LaidEdge[] = [];
  for (const [from, targets] of out) {
    const a = laid.get(from);
    if (!a) continue;
    for (const to of targets) {
      const b = laid.get(to);
      if (b) edges.push(curve(from, to, a, b));
    }
  }
  return { width: MARGIN * 2 + maxRank * COLUMN + NODE_W + CLUSTER_PAD * 2, height: bottom + MARGIN, nodes: [...laid.values()], edges, clusters };
}

/** Longest path from a root (Kahn's algorithm, O(V+E)); items on a cycle (made by collapsing a group) follow their ranked predecessors. */
function rank(items: Map<string, Item>, out: Map<string, Set<string>>): void {
  const indegree = new Map<string, number>();
  for (const key of items.keys()) indegree.set(key, 0);
  for (const targets of out.values()) for (const t of targets) indegree.set(t, (indegree.get(t) ?? 0) + 1);
  const queue = [...items.keys()].filter((k) => indegree.get(k) === 0);
  const done = new Set<string>();
  const visit = (key: string) => {
    done.add(key);
    const r = (items.get(key) as Item).rank;
    for (const t of out.get(key) ?? []) {
      const next = items.get(t);
      if (!next || done.has(t)) continue;
      next.rank = Math.max(next.rank, r + 1);
      const d = (indegree.get(t) ?? 1) - 1;
      indegree.set(t, d);
      if (d === 0) queue.push(t);
    }
  };
  let next = 0;
  const drain = () => {
    for (; next < queue.length; next++) if (!done.has(queue[next] as string)) visit(queue[next] as string);
  };
  drain();
  for (const key of items.keys()) {
    if (done.has(key)) continue;
    visit(key);
    drain();
  }
}

/** Items sorted into nested bands: the items of a group band, then the bands of its expanded subgroups. */
function bands(items: Map<string, Item>): Band {
  const root: Band = { path: "", items: [], children: [] };
  const byPath = new Map<string, Band>([["", root]]);
  const bandOf = (chain: string[]): Band => {
    let parent = root;
    for (const p of chain) {
      let b = byPath.get(p);
      if (!b) {
        b = { path: p, items: [], children: [] };
        byPath.set(p, b);
        parent.children.push(b);
      }
      parent = b;
    }
    return parent;
  };
  for (const it of items.values()) bandOf(it.clusters).items.push(it);
  return root;
}

/** Places a band's items from `top` (rows per column in declared order), then its child bands below. */
function place(band: Band, top: number, laid: Map<string, LaidNode>, clusters: LaidCluster[], depth: number): { bottom: number; minRank: number; maxRank: number } {
  // The box goes in before the boxes of its subgroups, so outer boxes are drawn first.
  const slot = band.path ? clusters.push({ path: band.path, x: 0, y: top, width: 0, height: 0 }) - 1 : -1;
  const inner = band.path ? top + CLUSTER_TOP : top;
  const rows = new Map<number, number>();
  let used = 0;
  let minRank = Infinity;
  let maxRank = -Infinity;
  for (const it of band.items) {
    const row = rows.get(it.rank) ?? 0;
    rows.set(it.rank, row + 1);
    used = Math.max(used, row + 1);
    laid.set(it.key, { ...it.node, x: MARGIN + CLUSTER_PAD + it.rank * COLUMN + NODE_W / 2, y: inner + row * ROW + NODE_H / 2 });
    minRank = Math.min(minRank, it.rank);
    maxRank = Math.max(maxRank, it.rank);
  }
  let bottom = inner + used * ROW;
  for (const child of band.children) {
    const r = place(child, bottom, laid, clusters, depth + 1);
    bottom = r.bottom + 8;
    minRank = Math.min(minRank, r.minRank);
    maxRank = Math.max(maxRank, r.maxRank);
  }
  if (slot >= 0) {
    const pad = Math.max(2, CLUSTER_PAD - depth * 3);
    const x = MARGIN + CLUSTER_PAD + (Number.isFinite(minRank) ? minRank : 0) * COLUMN - pad;
    const right = MARGIN + CLUSTER_PAD + (Number.isFinite(maxRank) ? maxRank : 0) * COLUMN + NODE_W + pad;
    clusters[slot] = { path: band.path, x, y: top, width: right - x, height: bottom - top };
    bottom += 4;
  }
  return { bottom, minRank, maxRank };
}

function curve(from: string, to: string, a: LaidNode, b: LaidNode): LaidEdge {
  const x1 = a.x + a.width / 2;
  const y1 = a.y;
  const x2 = b.x - b.width / 2;
  const y2 = b.y;
  const dx = Math.max(30, Math.abs(x2 - x1) / 2);
  return {
    from, to,
    path: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`,
    minX: Math.min(x1, x2), maxX: Math.max(x1, x2), minY: Math.min(y1, y2), maxY: Math.max(y1, y2),
  };
}
