/**
 * Pipelines against a real S3-compatible server (scripts/setup-s3.sh, started when absent) through a running
 * standalone: catalog datasets and artifacts live in object storage, `pipelines run-once --wait --json` exits with
 * the outcome, a DAG scheduled on a dataset runs when it gets a new version, external dependencies are checked,
 * and `resources:<profile>` tags apply the profile's limits on the sandbox.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBucket, deleteObject, listObjects, type S3Settings } from "../src/datasets/s3.js";
import { ensureBubblewrap } from "./helpers/sandbox.js";
import { createProject, ROOT, waitUntil, type Project, type Standalone } from "./helpers/project.js";

const PORT = 45010;
const s3: S3Settings = { endpoint: `http://127.0.0.1:${PORT}`, region: "us-east-1", accessKeyId: "airlock-test", secretAccessKey: "airlock-test-secret" };
const bucket = `pipelines-${randomBytes(4).toString("hex")}`;

let project: Project;
let standalone: Standalone;

beforeAll(async () => {
  execFileSync("bash", [path.join(ROOT, "scripts", "setup-s3.sh"), String(PORT)], { stdio: "inherit" });
  await createBucket(s3, bucket);
  project = createProject({
    config: {
      datasets: { artifacts: `s3://${bucket}/artifacts`, s3Endpoint: s3.endpoint, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey },
      kubernetes: { profiles: { tiny: { limits: { memory: "64Mi" } } } },
    },
    dags: {
      "produce.ts": `import { node, pipeline } from "airlock";
        export default pipeline({ id: "produce", params: { n: 3 }, catalog: { numbers: { type: "csv", path: "s3://${bucket}/numbers/{{ ds }}.csv" } } }, [
          node({ name: "make", inputs: ["params:n"], outputs: ["numbers"], run: async ({ "params:n": n }) => ({ numbers: Array.from({ length: n }, (_, i) => ({ i, sq: i * i })) }) }),
          node({ name: "total", inputs: ["numbers"], outputs: ["sum"], run: async ({ numbers }) => ({ sum: numbers.reduce((s, r) => s + Number(r.sq), 0) }) }),
        ]);`,
      "consume.ts": `import { dag, fn } from "airlock";
        export default dag({ id: "consume", schedule: { datasets: ["sum", "numbers"] } }, () => { fn({ id: "react", run: async () => "saw new data" }); });`,
      "waits.ts": `import { node, pipeline } from "airlock";
        export default pipeline({ id: "waits", externalDependencies: [{ dagId: "no_such_dag", timeout: "5s" }] }, [
          node({ name: "after", outputs: ["never"], run: async () => ({ never: 1 }) }),
        ]);`,
      "hungry.ts": `import { node, pipeline } from "airlock";
        export default pipeline({ id: "hungry" }, [
          node({ name: "eat", outputs: ["crumbs"], tags: ["resources:tiny"], backend: "sandbox",
                 run: async () => { const keep = []; for (let i = 0; i < 40; i++) keep.push(Buffer.alloc(8 * 1024 * 1024, i)); return { crumbs: keep.length }; } }),
          node({ name: "unknown_profile", outputs: ["nothing"], tags: ["resources:giant"], run: async () => ({ nothing: 1 }) }),
        ]);`,
    },
  });
  standalone = await project.startStandalone();
}, 900_000);

afterAll(async () => {
  await standalone?.stop();
  await project?.cleanup();
  // The server is shared and reused: leave it as it was found.
  for (const o of await listObjects(s3, bucket, "").catch(() => [])) await deleteObject(s3, bucket, o.key);
  await deleteObject(s3, bucket, "").catch(() => undefined);
});

describe("pipelines on S3-compatible storage through standalone", () => {
  it("run-once --wait --json succeeds; catalog datasets and artifacts are objects; a dataset-scheduled DAG runs", async () => {
    const r = await project.cliJson<any>(["pipelines", "run-once", "produce", "--conf", '{"n": 4}', "--wait", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ dagId: "produce", state: "success" });
    expect(r.json.tasks.find((t: any) => t.taskId === "total").xcom).toEqual({ sum: 14 });
    const keys = (await listObjects(s3, bucket, "")).map((o) => o.key);
    expect(keys).toContainEqual(expect.stringMatching(/^numbers\/\d{4}-\d{2}-\d{2}\.csv$/));
    expect(keys).toContainEqual(`artifacts/produce/${r.json.runId}/sum`);
    const show = await project.cliJson<any>(["datasets", "show", "numbers", "--json"]);
    expect(show.json.versions[0]).toMatchObject({ runId: r.json.runId, taskId: "make", type: "csv" });
    expect(show.json.versions[0].uri).toMatch(new RegExp(`^s3://${bucket}/numbers/`));
    const runs = await waitUntil("a dataset-triggered run of consume", async () => {
      const list = await project.cliJson<any>(["runs", "list", "consume", "--json"]);
      const done = list.json.items.filter((x: any) => x.runType === "dataset_triggered" && x.state === "success");
      return done.length > 0 ? done : null;
    }, 60_000);
    expect(runs).toHaveLength(1);
  }, 180_000);

  it("an external dependency on a DAG that does not exist fails the pipeline before its nodes (exit 1)", async () => {
    const r = await project.cliJson<any>(["pipelines", "run-once", "waits", "--wait", "--json"]);
    expect(r.code).toBe(1);
    expect(r.json.tasks.map((t: any) => [t.taskId, t.state])).toEqual([["wait_for_no_such_dag", "failed"], ["after", "upstream_failed"]]);
    const log = await project.cli(["tasks", "logs", "waits", r.json.runId, "wait_for_no_such_dag"]);
    expect(log.stdout).toMatch(/DAG "no_such_dag" does not exist/);
  }, 120_000);

  it("a resources:<profile> tag applies the profile's memory limit on the sandbox; an unknown profile is a clear error", async () => {
    ensureBubblewrap();
    const r = await project.cliJson<any>(["pipelines", "run-once", "hungry", "--wait", "--json"]);
    expect(r.code).toBe(1);
    const log = async (task: string) => (await project.cli(["tasks", "logs", "hungry", r.json.runId, task])).stdout;
    expect(await log("eat")).toMatch(/MemoryLimitExceeded: memory limit exceeded \(64 MiB\)/);
    expect(await log("unknown_profile")).toMatch(/resource profile "giant", which is not in kubernetes.profiles/);
  }, 180_000);
});
