import { bash, chain, dag, empty, fn } from "airlock";

// A scheduled DAG with catchup: one run per day from startDate to endDate. The scheduler creates every interval
// it missed; each run's logical date is the START of its data interval (the run of 2026-01-01 covers
// 2026-01-01T00:00 .. 2026-01-02T00:00 and starts once that interval is over), as in Airflow.
// maxActiveRuns bounds how many of those runs are active at once.
// The work fans out to one task per region and back in to one merge.
export default dag({
  id: "daily_batch",
  description: "a daily batch, caught up from startDate to endDate, fanning out per region and back in",
  schedule: "@daily",
  timezone: "UTC",
  startDate: "2026-01-01",
  endDate: "2026-01-07",
  catchup: true,
  maxActiveRuns: 2,
  tags: ["example", "scheduled"],
}, () => {
  const start = empty({ id: "start" });
  const extract = ["eu", "us", "apac"].map((region) => bash({
    id: `extract_${region}`,
    command: `echo "extracting ${region} for {{ data_interval_start }} .. {{ data_interval_end }}"; echo ${region.length * 10}`,
  }));
  const merge = fn({
    id: "merge",
    run: async (ctx) => {
      const rows = ["eu", "us", "apac"].map((r) => Number(ctx.xcom.pull(`extract_${r}`)));
      return { ds: ctx.ds, interval: ctx.dataInterval, rows: rows.reduce((a, b) => a + b, 0) };
    },
  });
  const publish = bash({ id: "publish", command: "echo 'published {{ ds }}: {{ ti.xcom_pull(\"merge\").rows }} rows'" });
  chain(start, extract, merge, publish);
});
