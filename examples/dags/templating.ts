import { bash, dag, fn } from "airlock";

// Templated fields use Jinja syntax with Airflow's names. A template may name variables and connections: the
// task is granted exactly what its templates name. An undefined name fails the task, naming field and template.
//
// This DAG reads the connection "warehouse"; create it first, e.g.
//   airlock connections add warehouse --uri postgres://etl@warehouse.internal:5432/analytics
// (or set AIRLOCK_CONN_WAREHOUSE=postgres://etl@warehouse.internal:5432/analytics in the environment).
export default dag({
  id: "templating",
  description: "params, dates, macros, XComs, variables and connections in templates",
  params: { table: "orders", days: 7 },
  tags: ["example", "templating"],
}, () => {
  const dates = bash({
    id: "dates",
    // The last line printed is the XCom: the end of a 7-day window starting at the logical date.
    command: [
      'echo "run {{ run_id }} of {{ dag.dag_id }}, try {{ try_number }}"',
      'echo "logical date {{ logical_date }} ({{ ts }}), interval {{ data_interval_start }} .. {{ data_interval_end }}"',
      'echo "ds={{ ds }} ds_nodash={{ ds_nodash }} month={{ macros.ds_format(ds, \'%Y-%m-%d\', \'%Y/%m\') }}"',
      'echo "{{ macros.ds_add(ds, params.days) }}"',
    ].join("\n"),
  });

  const query = bash({
    id: "query",
    command: [
      // var.value.get(name, default) falls back when the variable is not set; var.value.name would fail instead.
      'echo "{{ var.value.get(\'greeting\', \'hello\') }} from {{ conn.warehouse.host }}:{{ conn.warehouse.port }}/{{ conn.warehouse.schema }}"',
      'echo "SELECT * FROM {{ params.table }} WHERE day >= \'{{ ds }}\' AND day < \'{{ ti.xcom_pull(\'dates\') }}\'"',
    ].join("\n"),
  });

  // fn tasks read the same values from their context instead of templates.
  const report = fn({
    id: "report",
    run: async (ctx) => ({ table: ctx.params.table, windowEnd: ctx.xcom.pull("dates"), query: ctx.xcom.pull("query") }),
  });

  dates.then(query).then(report);
});
