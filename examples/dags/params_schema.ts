import { dag, fn } from "airlock";

// Params are defaults that a run's conf overrides; paramsSchema (JSON Schema) validates the result when the run is
// created, so a bad conf is rejected at trigger time with the param named, before anything runs:
//   airlock dags trigger params_schema --conf '{"rows": 5000}'     # rejected: rows must be <= 1000
export default dag({
  id: "params_schema",
  description: "params with defaults, overridden by run conf and validated by a JSON Schema",
  params: { rows: 10, region: "eu", dryRun: false },
  paramsSchema: {
    type: "object",
    properties: {
      rows: { type: "integer", minimum: 1, maximum: 1000 },
      region: { enum: ["eu", "us", "apac"] },
      dryRun: { type: "boolean" },
    },
    required: ["rows", "region"],
    additionalProperties: false,
  },
  tags: ["example", "params"],
}, () => {
  fn({
    id: "sample",
    run: async (ctx) => {
      const { rows, region, dryRun } = ctx.params as { rows: number; region: string; dryRun: boolean };
      ctx.log.info(`sampling ${rows} rows in ${region}${dryRun ? " (dry run)" : ""}; conf was`, ctx.conf);
      return { rows, region, dryRun, sample: Array.from({ length: Math.min(rows, 3) }, (_, i) => `${region}-${i}`) };
    },
  });
});
