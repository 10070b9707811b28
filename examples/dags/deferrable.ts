import { bash, dag, fileSensor, timeSensor } from "airlock";

// Deferrable waits: a sensor with mode "deferrable" hands its wait to the orchestrator's trigger loop at once. While
// it waits (state "deferred") it holds no process and no pool slot; the check is Airlock's own (a time, a file,
// another DAG's task, an HTTP endpoint), never task code. Timeout and softFail work as for any sensor, and the wait
// survives a restart of the orchestrator (or moves to another worker when its own is lost).
//   mkdir -p /tmp/airlock-inbox && touch /tmp/airlock-inbox/stock-$(date +%F).csv
//   airlock dags test deferrable
export default dag({
  id: "deferrable",
  description: "wait for a time and a file without holding a process, then report",
  params: { inbox: "/tmp/airlock-inbox" },
  tags: ["example", "sensors", "authoring"],
}, () => {
  const settle = timeSensor({ id: "settle", delta: "1s", mode: "deferrable", pokeInterval: "200ms" });
  const stock = fileSensor({
    id: "wait_for_stock",
    path: "{{ params.inbox }}/stock-{{ ds }}.csv",
    mode: "deferrable",
    pokeInterval: "200ms",
    timeout: "3s",
    softFail: true,
  });
  const report = bash({ id: "report", command: "echo 'stock file: {{ ti.xcom_pull(\"wait_for_stock\") }}'" });
  settle.then(report);
  stock.then(report);
});
