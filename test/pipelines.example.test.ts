/**
 * The example pipeline (examples/dags/trip_model.ts: ingest → clean → features → train → evaluate, csv and json
 * datasets, lodash 3 and lodash 4 environments) runs green under `dags test` on process, sandbox and docker; its
 * datasets are versioned; a node sees only its declared inputs; a missing declared output fails the node.
 */
import { cpSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDocker } from "./helpers/docker.js";
import { ensureBubblewrap } from "./helpers/sandbox.js";
import { createProject, ROOT, type Project } from "./helpers/project.js";

let project: Project;

beforeAll(() => {
  project = createProject({
    dags: {
      "sealed.ts": `import { node, pipeline } from "airlock";
        import { existsSync } from "node:fs";
        import path from "node:path";
        export default pipeline({ id: "sealed", params: { probe: "" } }, [
          node({ name: "write_a", outputs: ["a"], run: async () => ({ a: { secret: false } }) }),
          node({ name: "write_b", outputs: ["b"], run: async () => ({ b: { secret: true } }) }),
          node({ name: "wait_b", inputs: ["b"], outputs: ["b_done"], run: async () => ({ b_done: 1 }) }),
          // Reads a only; b sits beside a in the artifact store, but must not be visible to this node.
          node({ name: "snoop", inputs: ["a", "b_done", "params:probe"], outputs: ["seen"], run: async (inputs) => {
            const probe = inputs["params:probe"];
            return { seen: { sibling: probe === "" ? null : existsSync(path.join(probe, "b")) } };
          } }),
        ]);`,
      "lazy.ts": `import { node, pipeline } from "airlock";
        export default pipeline({ id: "lazy" }, [
          node({ name: "forgets", outputs: ["report"], command: "echo did nothing" }),
          node({ name: "partial", outputs: ["x", "y"], run: async () => ({ x: 1 }) }),
        ]);`,
    },
  });
  cpSync(path.join(ROOT, "examples", "dags", "trip_model.ts"), path.join(project.dagsDir, "trip_model.ts"));
  for (const env of ["lodash3", "lodash4"]) cpSync(path.join(ROOT, "examples", "environments", env), path.join(project.dir, "environments", env), { recursive: true });
});
afterAll(async () => {
  await project.cleanup();
});

interface Summary { state: string; runId: string; tasks: Array<{ taskId: string; state: string; isolation: string; xcom: any }> }

async function runExample(backend: string | null): Promise<Summary> {
  const r = await project.cliJson<Summary>(["dags", "test", "trip_model", "--json", ...(backend ? ["--backend", backend] : [])]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json.state).toBe("success");
  const evaluate = r.json.tasks.find((t) => t.taskId === "evaluate");
  expect(evaluate?.xcom.metrics.r2).toBeGreaterThan(0.99);
  expect(evaluate?.xcom.metrics.lodash).toMatch(/^4\./);
  for (const t of r.json.tasks) expect(t.isolation).toBe(backend ?? "process");
  return r.json;
}

describe("example pipeline trip_model", () => {
  it("runs green under dags test (process) and versions its datasets", async () => {
    const run = await runExample(null);
    const ds = new Date().toISOString().slice(0, 10);
    const clean = readFileSync(path.join(project.dir, "data", ds, "clean_trips.csv"), "utf8").trim().split("\n");
    expect(clean[0]).toBe("id,km,minutes,fare");
    expect(clean).toHaveLength(201); // 200 rows: the duplicate and the broken row were cleaned away
    expect(JSON.parse(readFileSync(path.join(project.dir, "data", "models", `${ds}.json`), "utf8")).perKm).toBeCloseTo(1.2, 1);
    const list = await project.cliJson<any>(["datasets", "list", "--json"]);
    expect(list.json.items.map((d: any) => d.name)).toEqual(expect.arrayContaining(["clean_trips", "features", "metrics", "model", "raw_trips"]));
    const show = await project.cliJson<any>(["datasets", "show", "features", "--json"]);
    expect(show.json.versions[0]).toMatchObject({ runId: run.runId, taskId: "features", dagId: "trip_model", tryNumber: 1, type: "json" });
    expect(show.json.versions[0].size).toBeGreaterThan(1000);
    // An unlisted dataset is a run-scoped artifact kept by Airlock; features were made with lodash 3.
    expect(JSON.parse(readFileSync(show.json.versions[0].uri, "utf8")).lodash).toMatch(/^3\./);
    const unknown = await project.cli(["datasets", "show", "nothing_here"]);
    expect(unknown.code).toBe(2);
  }, 240_000);

  it("runs green on the sandbox backend", async () => {
    ensureBubblewrap();
    await runExample("sandbox");
  }, 240_000);

  it("runs green on the docker backend", async () => {
    ensureDocker();
    await runExample("docker");
  }, 600_000);
});

describe("sealed data flow", () => {
  it("a sandboxed or containerised node sees its declared input, not the dataset beside it", async () => {
    ensureBubblewrap();
    ensureDocker();
    // The probe points at where b's artifact of this run would be, next to a.
    const first = await project.cliJson<Summary>(["dags", "test", "sealed", "--json", "--backend", "sandbox"]);
    expect(first.json.state).toBe("success");
    const a = await project.cliJson<any>(["datasets", "show", "a", "--json"]);
    const probe = path.dirname(a.json.versions[0].uri);
    expect(existsSync(path.join(probe, "b"))).toBe(true);
    for (const backend of ["sandbox", "docker"]) {
      const r = await project.cliJson<Summary>(["dags", "test", "sealed", "--json", "--backend", backend, "--conf", JSON.stringify({ probe })]);
      expect(r.json.tasks.find((t) => t.taskId === "snoop")?.xcom).toEqual({ seen: { sibling: false } });
    }
    // The probe itself is sound: on the process backend (no filesystem isolation) the sibling is visible.
    const open = await project.cliJson<Summary>(["dags", "test", "sealed", "--json", "--conf", JSON.stringify({ probe })]);
    expect(open.json.tasks.find((t) => t.taskId === "snoop")?.xcom).toEqual({ seen: { sibling: true } });
  }, 400_000);

  it("a node that does not produce a declared output fails, naming the node and the output", async () => {
    const r = await project.cliJson<Summary>(["dags", "test", "lazy", "--json"]);
    expect(r.code).toBe(1);
    expect(r.json.tasks.map((t) => t.state)).toEqual(["failed", "failed"]);
    const logs = async (task: string) => (await project.cli(["tasks", "logs", "lazy", r.json.runId, task])).stdout;
    expect(await logs("forgets")).toMatch(/node "forgets" did not produce its declared output "report": write it to \$AIRLOCK_OUTPUT_REPORT/);
    expect(await logs("partial")).toMatch(/node "partial" did not return its declared output "y"/);
    const versions = await project.cliJson<any>(["datasets", "list", "--json"]);
    expect(versions.json.items.map((d: any) => d.name)).not.toContain("x");
  }, 120_000);
});
