import { bash, dag, fn, notify } from "airlock";

// Callbacks and alerts: onSuccess / onFailure / onRetry / onSlaMiss (with sla) on tasks, onSuccess / onFailure on the DAG. A callback is a
// notifier — notify.webhook or notify.email, templated with the task's context ({{ dag.id }}, {{ ti.task_id }},
// {{ ds }}, {{ exception }}) — or a function that runs in its own process like a task, never in the orchestrator.
// A callback that fails is written to the task's log and changes nothing else.
//   airlock connections add alerts --uri http://127.0.0.1:9000      (any HTTP endpoint that accepts a POST)
//   airlock dags test alerts --conf '{"fail": true}'
export default dag({
  id: "alerts",
  description: "a webhook when the run fails, a function callback on each retry",
  params: { fail: false },
  onFailure: notify.webhook({ connection: "alerts", path: "/airlock", body: { text: "{{ dag.id }} failed on {{ ds }}: {{ exception }}" } }),
  tags: ["example", "callbacks"],
}, () => {
  const load = bash({
    id: "load",
    retries: 1,
    retryDelay: "200ms",
    command: "if [ '{{ params.fail }}' = 'true' ]; then echo 'the source is down' >&2; exit 1; fi; echo 'loaded 12 rows'",
    onRetry: (ctx) => console.log(`retrying ${ctx.taskId} after try ${ctx.tryNumber}: ${ctx.error?.message}`),
  });
  const report = fn({
    id: "report",
    run: async (ctx) => `report: ${ctx.xcom.pull<string>("load")}`,
    // Should be done ten minutes after the run started; if not, onSlaMiss is called once (the task goes on).
    sla: "10m",
    onSlaMiss: notify.webhook({ connection: "alerts", path: "/airlock", body: "{{ ti.task_id }} of {{ dag.id }} is late for {{ ds }}" }),
    onSuccess: notify.webhook({ connection: "alerts", path: "/airlock", body: "{{ ti.task_id }} of {{ dag.id }} done for {{ ds }}" }),
  });
  load.then(report);
});
