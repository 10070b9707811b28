import { bash, dag, fileSensor } from "airlock";

// A sensor waits for something to be true, checking every pokeInterval until timeout. This one waits for the day's
// orders file; its XCom is the path it found. With softFail a timeout skips the sensor (and the tasks that need
// it) instead of failing the run.
//   mkdir -p /tmp/airlock-inbox && touch /tmp/airlock-inbox/orders-$(date +%F).csv
//   airlock dags test file_sensor
export default dag({
  id: "file_sensor",
  description: "wait for a file (soft-fail on timeout), then count its lines",
  params: { inbox: "/tmp/airlock-inbox" },
  tags: ["example", "sensors"],
}, () => {
  const wait = fileSensor({
    id: "wait_for_orders",
    path: "{{ params.inbox }}/orders-{{ ds }}.csv",
    pokeInterval: "200ms",
    timeout: "3s",
    softFail: true,
  });
  const count = bash({ id: "count_orders", command: "wc -l < '{{ ti.xcom_pull(\"wait_for_orders\") }}'" });
  wait.then(count);
});
