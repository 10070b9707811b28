import { dag, fn, triggerDag } from "airlock";

// triggerDag creates a run of another DAG, as Airflow's TriggerDagRunOperator. The orchestrator creates it on the
// task's behalf: no task process runs and the task is granted nothing more. The conf is templated with what the
// task itself may read (its run, upstream XComs, its grants) and checked against the other DAG's params.
// With wait: true the task waits for the triggered run and fails when it fails (needs a scheduler: airlock
// standalone); here it only triggers, so it also completes under `airlock dags test trigger_dag`.
export default dag({
  id: "trigger_dag",
  description: "prepare, then trigger triggered_report with a templated conf",
  params: { region: "eu" },
  tags: ["example", "trigger"],
}, () => {
  const prepare = fn({ id: "prepare", run: async () => ({ rows: 42 }) });
  const trigger = triggerDag({
    id: "start_report",
    dagId: "triggered_report",
    conf: { day: "{{ ds }}", region: "{{ params.region }}", rows: "{{ ti.xcom_pull('prepare').rows }}" },
  });
  prepare.then(trigger);
});
