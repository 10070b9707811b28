import { bash, dag, fn, isolated } from "airlock";

// A first DAG: a bash task, a TypeScript task, and a task sealed in its own environment (environments/example).
export default dag({
  id: "example",
  description: "Greets, counts, and reports the version of a package from a sealed environment",
  schedule: "@daily",
  startDate: "2026-01-01",
  catchup: false,
  params: { name: "world" },
  defaultArgs: { retries: 1, retryDelay: "5s" },
  tags: ["example"],
}, () => {
  const greet = bash({ id: "greet", command: "echo hello {{ params.name }}" });
  const count = fn({ id: "count", run: async (ctx) => String(ctx.params.name).length });
  const sealed = isolated(fn({
    id: "sealed",
    run: async () => {
      const { default: isNumber } = await import("is-number");
      return { isNumber: isNumber(42), node: process.version };
    },
  }), { environment: "example" });
  greet.then(count).then(sealed);
});
