/**
 * Pipelines are checked when their file is parsed: each mistake is an import error naming the node and the dataset
 * (an input nothing writes and no catalog lists, two writers, a cycle through datasets, a node name clash, a bad
 * catalog entry), through the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const header = 'import { node, pipeline } from "airlock";\n';
const ok = "async () => ({})";

let project: Project;
let errors: Map<string, string>;

beforeAll(async () => {
  project = createProject({
    dags: {
      "missing.ts": `${header}export default pipeline({ id: "missing" }, [
        node({ name: "clean", inputs: ["raw_data"], outputs: ["tidy"], run: ${ok} }),
      ]);`,
      "writers.ts": `${header}export default pipeline({ id: "writers" }, [
        node({ name: "a", outputs: ["shared"], run: ${ok} }),
        node({ name: "b", outputs: ["shared"], run: ${ok} }),
      ]);`,
      "cycle.ts": `${header}export default pipeline({ id: "cycle" }, [
        node({ name: "first", inputs: ["loop_b"], outputs: ["loop_a"], run: ${ok} }),
        node({ name: "second", inputs: ["loop_a"], outputs: ["loop_b"], run: ${ok} }),
      ]);`,
      "clash.ts": `${header}export default pipeline({ id: "clash" }, [
        node({ name: "same", outputs: ["x"], run: ${ok} }),
        node({ name: "same", inputs: ["x"], run: ${ok} }),
      ]);`,
      "params.ts": `${header}export default pipeline({ id: "params_missing" }, [
        node({ name: "train", inputs: ["params:model"], outputs: ["m"], run: ${ok} }),
      ]);`,
      "badcatalog.ts": `${header}export default pipeline({ id: "badcatalog", catalog: { raw: { type: "parquet", path: "x" } } }, [
        node({ name: "read", inputs: ["raw"], run: ${ok} }),
      ]);`,
      "fine.ts": `${header}const prep = pipeline({ namespace: "prep", inputs: ["raw"] }, [
        node({ name: "clean", inputs: ["raw"], outputs: ["tidy"], run: ${ok} }),
      ]);
      export default pipeline({ id: "fine", externalDependencies: [{ dagId: "upstream_dag", taskId: "load", timeout: "2m", executionDelta: "10m" }] }, [
        prep,
        node({ name: "report", inputs: ["prep.tidy"], outputs: ["summary"], command: "echo hi > $AIRLOCK_OUTPUT_SUMMARY", tags: ["resources:small"] }),
      ]);`,
    },
  });
  project.writeFile("catalog.yaml", "raw:\n  type: csv\n  path: data/raw.csv\n");
  const r = await project.cliJson<{ items: Array<{ dagId: string }>; importErrors: Array<{ fileloc: string; message: string }> }>(["dags", "list", "--json"]);
  errors = new Map(r.json.importErrors.map((e) => [e.fileloc.replace(/^dags\//, ""), e.message]));
}, 120_000);

afterAll(async () => {
  await project.cleanup();
});

describe("pipeline validation at parse time", () => {
  it("an input that nothing writes and the catalog does not list names the node and the dataset", () => {
    expect(errors.get("missing.ts")).toMatch(/node "clean" reads dataset "raw_data", which no node writes and catalog.yaml does not list/);
  });

  it("two writers, a cycle through datasets, a name clash and an unknown param each name the nodes and datasets", () => {
    expect(errors.get("writers.ts")).toMatch(/dataset "shared" is written by two nodes, "a" and "b"/);
    expect(errors.get("cycle.ts")).toMatch(/cycle through datasets: (first -\[loop_a\]-> second, second -\[loop_b\]-> first|second -\[loop_b\]-> first, first -\[loop_a\]-> second)/);
    expect(errors.get("clash.ts")).toMatch(/two nodes are named "same"/);
    expect(errors.get("params.ts")).toMatch(/node "train" reads "params:model", but the pipeline has no param "model"/);
    expect(errors.get("badcatalog.ts")).toMatch(/catalog\.raw\.type must be one of json, text, csv, file, folder/);
  });

  it("a valid pipeline of pipelines compiles to one task per node, dataset edges and external-dependency sensors", async () => {
    expect(errors.has("fine.ts")).toBe(false);
    const show = await project.cliJson<any>(["pipelines", "show", "fine", "--json"]);
    expect(show.json.nodes.map((n: any) => n.name)).toEqual(["prep.clean", "report"]);
    expect(show.json.nodes[1]).toMatchObject({ kind: "command", inputs: ["prep.tidy"], outputs: ["summary"], upstream: ["prep.clean"], tags: ["resources:small"] });
    expect(show.json.datasets).toEqual([
      { name: "prep.tidy", producer: "prep.clean", consumers: ["report"], storage: null },
      { name: "raw", producer: null, consumers: ["prep.clean"], storage: { type: "csv", path: "data/raw.csv" } },
      { name: "summary", producer: "report", consumers: [], storage: null },
    ]);
    const sensor = show.json.tasks.find((t: any) => t.kind === "external_task_sensor");
    expect(sensor.taskId).toBe("wait_for_upstream_dag.load");
    expect(show.json.tasks.find((t: any) => t.taskId === "prep.clean").upstream).toEqual(["wait_for_upstream_dag.load"]);
    const dag = await project.cliJson<any>(["dags", "show", "fine", "--json"]);
    expect(JSON.stringify(dag.json)).toContain('"profile":"small"');
    const list = await project.cliJson<any>(["pipelines", "list", "--json"]);
    expect(list.json.items.map((p: any) => p.pipelineId)).toEqual(["fine"]);
    const missing = await project.cli(["pipelines", "show", "nope"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Pipeline "nope" was not found/);
  });
});
