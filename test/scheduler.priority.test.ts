/** Effective priority weights follow Airflow's weight rules over the DAG's graph. */
import { expect, it } from "vitest";
import { bash, chain, dag, serializeDag } from "../src/sdk/index.js";
import { effectiveWeights } from "../src/scheduler/priority.js";

it("sums own weights downstream (default), upstream, or not at all (absolute)", () => {
  const d = serializeDag(dag({ id: "w" }, () => {
    const a = bash({ id: "a", command: "echo", priorityWeight: 2 });
    const b = bash({ id: "b", command: "echo", priorityWeight: 3, weightRule: "upstream" });
    const c = bash({ id: "c", command: "echo", priorityWeight: 5, weightRule: "absolute" });
    const e = bash({ id: "e", command: "echo" });
    // a → b → e and a → c → e: e is reached twice from a but counts once.
    chain(a, [b, c], e);
  }));
  const w = effectiveWeights(d);
  expect(Object.fromEntries(w)).toEqual({ a: 2 + 3 + 5 + 1, b: 3 + 2, c: 5, e: 1 });
});
