import { bash, dag } from "airlock";

// The DAG that trigger_dag triggers (it can also be run by hand): its params are what the trigger's conf fills in.
export default dag({
  id: "triggered_report",
  description: "a report run by trigger_dag with the day, region and row count in its conf",
  params: { day: "", region: "us", rows: "0" },
  paramsSchema: { type: "object", properties: { region: { type: "string", enum: ["eu", "us"] } } },
  tags: ["example", "trigger"],
}, () => {
  bash({ id: "report", command: "echo 'report for {{ params.region }} on {{ params.day }}: {{ params.rows }} rows'" });
});
