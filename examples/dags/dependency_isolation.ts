import { dag, fn, isolated } from "airlock";

// One DAG, two conflicting dependency sets: each task imports lodash from its own sealed environment
// (examples/environments/lodash3 and lodash4) and runs on that environment's Node version. Neither sees the
// project's node_modules nor the other's. Build them first with `airlock env build`, or let the first run do it.
// Try it in the sandbox backend too: airlock dags test dependency_isolation --backend sandbox

/** What a task saw: the lodash it imported and the Node it ran on. */
interface Seen {
  lodash: string;
  node: string;
}

export default dag({
  id: "dependency_isolation",
  description: "lodash 3 on Node 18 and lodash 4 on Node 22 in one DAG, each from its own environment",
  tags: ["example", "environments"],
}, () => {
  const legacy = isolated(fn({
    id: "lodash3_node18",
    run: async (): Promise<Seen> => {
      // Imported when the task runs, inside its environment: the orchestrator itself has no lodash.
      const _ = (await import("lodash")).default;
      return { lodash: _.VERSION, node: process.version };
    },
  }), { environment: "lodash3" });

  const current = isolated(fn({
    id: "lodash4_node22",
    run: async (): Promise<Seen> => {
      const _ = (await import("lodash")).default;
      return { lodash: _.VERSION, node: process.version };
    },
  }), { environment: "lodash4" });

  const compare = fn({
    id: "compare",
    run: async (ctx) => {
      const a = ctx.xcom.pull<Seen>("lodash3_node18");
      const b = ctx.xcom.pull<Seen>("lodash4_node22");
      const major = (v: string) => v.replace(/^v/, "").split(".")[0];
      if (major(a.lodash) === major(b.lodash)) throw new Error(`both tasks saw lodash ${a.lodash}: the environments are not isolated`);
      if (major(a.node) === major(b.node)) throw new Error(`both tasks ran on Node ${a.node}: the runtimes are not per environment`);
      ctx.log.info(`lodash ${a.lodash} on ${a.node} and lodash ${b.lodash} on ${b.node}`);
      return { lodash3_node18: a, lodash4_node22: b };
    },
  });

  legacy.then(compare);
  current.then(compare);
});
