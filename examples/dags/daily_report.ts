import { bash, dag, externalTaskSensor } from "airlock";

// Waits for another DAG: the report of a day starts once daily_batch's "publish" task has succeeded for the same
// logical date. Both DAGs share a schedule, so their runs line up.
// Under `airlock dags test` there is no daily_batch run for the test run's logical date: the sensor then times out
// and, being soft-fail, skips the report instead of failing. One report runs at a time, so that a caught-up day
// waits for its batch rather than for a queue of other days. Real deployments use a longer timeout.
export default dag({
  id: "daily_report",
  description: "waits for daily_batch.publish of the same day, then reports",
  schedule: "@daily",
  startDate: "2026-01-01",
  endDate: "2026-01-07",
  catchup: true,
  maxActiveRuns: 1,
  tags: ["example", "sensors", "scheduled"],
}, () => {
  const waitForBatch = externalTaskSensor({
    id: "wait_for_batch",
    externalDagId: "daily_batch",
    externalTaskId: "publish",
    pokeInterval: "1s",
    timeout: "10s",
    softFail: true,
  });
  const report = bash({ id: "report", command: "echo 'report for {{ ds }}: batch {{ ti.xcom_pull(\"wait_for_batch\").runId }}'" });
  waitForBatch.then(report);
});
