import { bash, chain, dag, fn, group } from "airlock";

// Task groups (Airflow's TaskGroup): tasks made inside group({ id }) get ids "<group>.<task>", take the group's
// defaultArgs, and the group connects as one node: chain(start, extract, load) makes every first task of "extract"
// wait for "start", and every first task of "load" wait for every last task of "extract". Groups nest; the graph
// in the UI shows each group collapsed to one box until you open it.
//   airlock dags test task_groups
export default dag({
  id: "task_groups",
  description: "extract and load as task groups, one nested, connected with chain()",
  defaultArgs: { retries: 0 },
  tags: ["example", "groups"],
}, () => {
  const start = bash({ id: "start", command: "echo starting {{ ds }}" });

  const extract = group({ id: "extract", defaultArgs: { retries: 2, retryDelay: "1s" } }, () => {
    fn({ id: "orders", run: async () => [{ id: 1, total: 30 }, { id: 2, total: 12 }] });
    fn({ id: "customers", run: async () => ["ada", "grace"] });
  });

  const load = group({ id: "load" }, () => {
    const stage = fn({
      id: "stage",
      run: async (ctx) => {
        const orders = ctx.xcom.pull<Array<{ total: number }>>("extract.orders");
        const customers = ctx.xcom.pull<string[]>("extract.customers");
        return { orders: orders.length, customers: customers.length, total: orders.reduce((s, o) => s + o.total, 0) };
      },
    });
    const tables = group({ id: "tables" }, () => {
      bash({ id: "orders", command: "echo 'loaded {{ ti.xcom_pull(\"load.stage\").orders }} orders'" });
      bash({ id: "customers", command: "echo 'loaded {{ ti.xcom_pull(\"load.stage\").customers }} customers'" });
    });
    stage.then(tables);
  });

  const report = fn({
    id: "report",
    run: async (ctx) => `${ctx.xcom.pull("load.tables.orders")}, ${ctx.xcom.pull("load.tables.customers")}`,
  });
  chain(start, extract, load, report);
});
