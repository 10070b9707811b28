/**
 * Effective priority weights with Airflow's meaning: "downstream" (the default) adds the own weights of every task
 * reachable downstream, so a task that unblocks more work is claimed first; "upstream" adds those of every task
 * it depends on (directly or not), which favours finishing runs already under way; "absolute" is the own weight.
 *
 * Walking the reachable set of every task from scratch was quadratic with a large constant (a 10,000-task chain
 * took 25 s at each run's creation). Here each task's reachable set is a bitset built from its neighbours' sets in
 * topological order, and freed once no task needs it any more, so a chain costs n²/32 word operations and a wide
 * DAG next to nothing.
 */
import type { SerializedDag } from "../sdk/serialized.js";

/** Task id → effective weight, computed once per run at its creation. */
export function effectiveWeights(dag: SerializedDag): Map<string, number> {
  const ids = dag.order.filter((id) => dag.tasks[id] !== undefined);
  const index = new Map(ids.map((id, i) => [id, i]));
  const own = ids.map((id) => dag.tasks[id]?.priorityWeight ?? 1);
  const rule = (id: string) => dag.tasks[id]?.weightRule ?? "downstream";
  const downstream = ids.some((id) => rule(id) === "downstream") ? reachSums(ids, index, own, (id) => dag.tasks[id]?.downstream ?? [], true) : null;
  const upstream = ids.some((id) => rule(id) === "upstream") ? reachSums(ids, index, own, (id) => dag.tasks[id]?.upstream ?? [], false) : null;
  const out = new Map<string, number>();
  ids.forEach((id, i) => {
    const r = rule(id);
    const related = r === "downstream" ? downstream?.[i] ?? 0 : r === "upstream" ? upstream?.[i] ?? 0 : 0;
    out.set(id, (own[i] as number) + related);
  });
  return out;
}

/**
 * For each task, the sum of the own weights of the tasks reachable through `next` (itself excluded). `ids` is in
 * topological order; with `reverse` the walk starts from its end (downstream sets are built from the leaves up).
 */
function reachSums(ids: string[], index: Map<string, number>, own: number[], next: (id: string) => string[], reverse: boolean): number[] {
  const n = ids.length;
  const words = Math.ceil(n / 32);
  const neighbours = ids.map((id) => next(id).map((x) => index.get(x)).filter((x): x is number => x !== undefined));
  // How many tasks still need a task's set: it is dropped after its last reader, so memory follows the DAG's width.
  const readers = new Array<number>(n).fill(0);
  for (const list of neighbours) for (const j of list) readers[j] = (readers[j] ?? 0) + 1;
  // Weights are summed per distinct weight value (usually one or two), with a popcount of the set under its mask.
  const masks = new Map<number, Uint32Array>();
  own.forEach((w, i) => {
    let m = masks.get(w);
    if (!m) masks.set(w, (m = new Uint32Array(words)));
    m[i >>> 5] = (m[i >>> 5] as number) | (1 << (i & 31));
  });
  const sets: Array<Uint32Array | null> = new Array<Uint32Array | null>(n).fill(null);
  const sums = new Array<number>(n).fill(0);
  for (let k = 0; k < n; k++) {
    const i = reverse ? n - 1 - k : k;
    const list = neighbours[i] as number[];
    if (list.length === 0) continue;
    const set = new Uint32Array(words);
    for (const j of list) {
      set[j >>> 5] = (set[j >>> 5] as number) | (1 << (j & 31));
      const sub = sets[j];
      if (sub) for (let w = 0; w < words; w++) set[w] = (set[w] as number) | (sub[w] as number);
      if (--(readers[j] as number) === 0) sets[j] = null;
    }
    let sum = 0;
    for (const [weight, mask] of masks) {
      let count = 0;
      for (let w = 0; w < words; w++) count += popcount((set[w] as number) & (mask[w] as number));
      sum += weight * count;
    }
    sums[i] = sum;
    if ((readers[i] as number) > 0) sets[i] = set;
  }
  return sums;
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
