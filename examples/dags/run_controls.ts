import { bash, dag } from "airlock";

// Run-level controls (Airflow's): a run still going after dagrunTimeout fails and its tasks are stopped;
// "load" has dependsOnPast, so a day's load waits until the previous day's load succeeded (runs catch up in
// order); after maxConsecutiveFailedRuns failed runs in a row the DAG pauses itself, and `airlock dags list`, `dags
// show` and the UI say why until someone unpauses it.
//   airlock dags test run_controls
export default dag({
  id: "run_controls",
  description: "days loaded in order (dependsOnPast), a run timeout, and a pause after three failed runs in a row",
  schedule: "@daily",
  startDate: "2026-01-01",
  endDate: "2026-01-03",
  catchup: true,
  dagrunTimeout: "10m",
  maxConsecutiveFailedRuns: 3,
  tags: ["example", "run-controls"],
}, () => {
  const load = bash({ id: "load", dependsOnPast: true, command: "echo 'loading {{ ds }} after {{ macros.ds_add(ds, -1) }}'" });
  const check = bash({ id: "check", command: "echo 'checked {{ ds }}'" });
  load.then(check);
});
