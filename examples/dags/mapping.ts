import { bash, dag, fn } from "airlock";

// Dynamic task mapping: `each.expand(list)` runs one instance of `each` per element of list's XCom, decided at run
// time. An instance sees its element as ctx.item ({{ item }} in templates) and its position as ctx.mapIndex
// ({{ map_index }}); each has its own state, retries, log and XCom. A downstream pull of a mapped task gets the
// list of its results in map-index order. An empty list skips the mapped task; maxActiveTisPerDag bounds how many
// instances run at once.
//   airlock dags test mapping
//   airlock tasks states mapping latest              (one row per instance, with its map index)
//   airlock tasks logs mapping latest measure --map-index 1
export default dag({
  id: "mapping",
  description: "one task instance per file of the day, then a total",
  params: { files: ["orders.csv", "refunds.csv", "stock.csv"] },
  tags: ["example", "authoring"],
}, () => {
  const list = fn({ id: "list_files", run: async (ctx) => ctx.params.files as string[] });
  const measure = fn({
    id: "measure",
    maxActiveTisPerDag: 2,
    run: async (ctx) => {
      ctx.log.info(`measuring ${ctx.item} (instance ${ctx.mapIndex})`);
      return { file: ctx.item as string, size: (ctx.item as string).length * 100 };
    },
  }).expand(list);
  const announce = bash({ id: "announce", command: "echo 'file {{ map_index }}: {{ item }}'" }).expand(list);
  const total = fn({
    id: "total",
    run: async (ctx) => (ctx.xcom.pull("measure") as Array<{ size: number }>).reduce((sum, m) => sum + m.size, 0),
  });
  measure.then(total);
  announce.then(total);
});
