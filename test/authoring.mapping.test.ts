/**
 * Dynamic task mapping through the real CLI, real task processes, bubblewrap sandboxes, a Docker container and
 * `airlock standalone` with its API: one instance per element of the upstream list, each with its own state,
 * retries, log and XCom; the list comes back in map-index order; an empty list skips; a non-list fails with a
 * clear error; maxActiveTisPerDag bounds an instance's concurrency; the CLI and API address one instance; clear
 * and mark act on instances.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, waitUntil, type Project } from "./helpers/project.js";
import { ensureDocker, removeContainers } from "./helpers/docker.js";
import { ownerOf, LABELS } from "../src/backends/docker/spec.js";

const MAPPED = `import { bash, dag, fn } from "airlock";
export default dag({ id: "mapped", params: { files: ["a.csv", "b.csv", "c.csv"] } }, () => {
  const list = fn({ id: "list", run: async (ctx) => ctx.params.files });
  const each = fn({ id: "each", retries: 1, retryDelay: "0s", run: async (ctx) => {
    ctx.log.info("instance", ctx.mapIndex, "of", ctx.item, "try", ctx.tryNumber);
    // One instance fails its first try only: its retry is its own.
    if (ctx.item === "b.csv" && ctx.tryNumber === 1) throw new Error("flaky b.csv");
    return { file: ctx.item.toUpperCase(), index: ctx.mapIndex };
  } }).expand(list);
  const shout = bash({ id: "shout", command: "echo item={{ item }} index={{ map_index }}" }).expand(list);
  const total = fn({ id: "total", run: async (ctx) => ({ each: ctx.xcom.pull("each"), shout: ctx.xcom.pull("shout") }) });
  const templated = bash({ id: "templated", command: "echo {{ ti.xcom_pull('shout') | length }}" });
  each.then(total);
  shout.then([total, templated]);
});
`;
const EDGES = `import { dag, fn } from "airlock";
export default dag({ id: "edges", params: { value: [] } }, () => {
  const list = fn({ id: "list", run: async (ctx) => ctx.params.value });
  const each = fn({ id: "each", run: async (ctx) => ctx.item }).expand(list);
  each.then(fn({ id: "after", run: async () => "ran" }));
  each.then(fn({ id: "cleanup", triggerRule: "all_done", run: async (ctx) => ctx.xcom.pull("each") }));
});
`;
const BOUNDED = `import { dag, fn } from "airlock";
export default dag({ id: "bounded" }, () => {
  const list = fn({ id: "list", run: async () => [1, 2, 3, 4, 5, 6] });
  fn({ id: "slow", maxActiveTisPerDag: 2, run: async (ctx) => {
    const start = Date.now();
    await new Promise((r) => setTimeout(r, 600));
    return [start, Date.now(), ctx.item];
  } }).expand(list);
});
`;
const DOCKER = `import { container, dag, fn } from "airlock";
export default dag({ id: "mapped_docker" }, () => {
  const list = fn({ id: "list", backend: "process", run: async () => ["x", "y"] });
  container({ id: "box", image: "airlock/base:bookworm", pull: "never", backend: "docker",
    command: ["sh", "-c", "echo from-container {{ item }} {{ map_index }}"] }).expand(list);
});
`;

interface Task { taskId: string; mapIndex?: number; state: string; tryNumber: number; isolation: string | null; xcom: any }
interface Summary { dagId: string; runId: string; state: string; tasks: Task[] }

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "mapped.ts": MAPPED, "edges.ts": EDGES, "bounded.ts": BOUNDED, "docker.ts": DOCKER } });
});
afterAll(async () => {
  await project.cleanup();
});

async function dagsTest(dagId: string, extra: string[] = []): Promise<Summary> {
  return (await project.cliJson<Summary>(["dags", "test", dagId, "--json", ...extra], { timeoutMs: 300_000 })).json;
}
const instances = (s: Summary, id: string) => s.tasks.filter((t) => t.taskId === id);

describe("dynamic task mapping", () => {
  for (const backend of ["process", "sandbox"]) {
    it(`makes one instance per element on the ${backend} backend, each with its own retries, log and XCom`, async () => {
      const s = await dagsTest("mapped", ["--backend", backend]);
      expect(s.state).toBe("success");
      const each = instances(s, "each");
      expect(each.map((t) => [t.mapIndex, t.state, t.isolation])).toEqual([[0, "success", backend], [1, "success", backend], [2, "success", backend]]);
      // b.csv failed once and was retried on its own; the others ran once.
      expect(each.map((t) => t.tryNumber)).toEqual([1, 2, 1]);
      expect(each.map((t) => t.xcom)).toEqual([{ file: "A.CSV", index: 0 }, { file: "B.CSV", index: 1 }, { file: "C.CSV", index: 2 }]);
      expect(instances(s, "shout").map((t) => t.xcom)).toEqual(["item=a.csv index=0", "item=b.csv index=1", "item=c.csv index=2"]);
      const total = instances(s, "total")[0];
      expect(total?.mapIndex).toBeUndefined();
      expect(total?.xcom).toEqual({ each: each.map((t) => t.xcom), shout: ["item=a.csv index=0", "item=b.csv index=1", "item=c.csv index=2"] });
      expect(instances(s, "templated")[0]?.xcom).toBe("3");

      const log = await project.cliJson<{ mapIndex: number; tryNumber: number; log: string }>(["tasks", "logs", "mapped", s.runId, "each", "--map-index", "1", "--try", "1", "--json"]);
      expect(log.json).toMatchObject({ mapIndex: 1, tryNumber: 1 });
      expect(log.json.log).toContain("instance 1 of b.csv try 1");
      expect(log.json.log).toContain("flaky b.csv");
      expect(log.json.log).not.toContain("a.csv");
      const plain = await project.cli(["tasks", "logs", "mapped", s.runId, "shout", "--map-index", "2"]);
      expect(plain.stdout).toContain("item=c.csv index=2");
      const unaddressed = await project.cli(["tasks", "logs", "mapped", s.runId, "each"]);
      expect(unaddressed.code).toBe(2);
      expect(unaddressed.stderr).toContain('"each" is mapped into 3 instances: pass --map-index N with N from 0 to 2');
      const table = await project.cli(["tasks", "states", "mapped", s.runId]);
      expect(table.stdout).toMatch(/each\s+1\s+success\s+2/);
    });
  }

  it("skips a task mapped over an empty list (downstream follows its trigger rule) and fails one mapped over a non-list", async () => {
    const empty = await dagsTest("edges");
    expect(empty.state).toBe("success");
    expect(instances(empty, "each")).toMatchObject([{ state: "skipped", tryNumber: 0 }]);
    expect(instances(empty, "after")[0]?.state).toBe("skipped");
    expect(instances(empty, "cleanup")[0]).toMatchObject({ state: "success", xcom: null });

    const bad = await dagsTest("edges", ["--conf", JSON.stringify({ value: { not: "a list" } })]);
    expect(bad.state).toBe("failed");
    expect(instances(bad, "each")[0]).toMatchObject({ state: "failed", tryNumber: 1 });
    expect(instances(bad, "after")[0]?.state).toBe("upstream_failed");
    const log = await project.cli(["tasks", "logs", "edges", bad.runId, "each"]);
    expect(log.stdout).toContain('MappingError: task "each" is mapped over the XCom of "list", which is object ({"not":"a list"}), not a list: make "list" return an array');
  });

  it("runs no more instances of a task at once than maxActiveTisPerDag", async () => {
    const s = await dagsTest("bounded");
    expect(s.state).toBe("success");
    const spans = instances(s, "slow").map((t) => t.xcom as [number, number, number]);
    expect(spans.map((x) => x[2])).toEqual([1, 2, 3, 4, 5, 6]);
    // At any instance's start, at most 2 instances (itself included) were between their start and end.
    for (const [start] of spans) expect(spans.filter(([a, b]) => a <= start && start < b).length).toBeLessThanOrEqual(2);
  });

  it("runs mapped instances as containers on the docker backend, one container per instance", async () => {
    const docker = ensureDocker();
    try {
      const s = await dagsTest("mapped_docker");
      expect(s.state).toBe("success");
      expect(instances(s, "box").map((t) => [t.mapIndex, t.state, t.isolation, t.xcom])).toEqual([[0, "success", "docker", "from-container x 0"], [1, "success", "docker", "from-container y 1"]]);
      const log = await project.cli(["tasks", "logs", "mapped_docker", s.runId, "box", "--map-index", "1"]);
      expect(log.stdout).toContain("from-container y 1");
    } finally {
      await removeContainers(docker, `${LABELS.owner}=${ownerOf({ stateDir: project.stateDir })}`);
    }
  });

  it("standalone: the API lists and addresses instances; clear and mark act on one instance", async () => {
    const standalone = await project.startStandalone();
    try {
      const trigger = await project.cliJson<Summary>(["dags", "trigger", "mapped", "--wait", "--json"], { timeoutMs: 120_000 });
      expect(trigger.json.state).toBe("success");
      const runId = trigger.json.runId;
      const api = async (p: string, init: RequestInit = {}) => {
        const res = await fetch(`${standalone.url}/api/v1/dags/mapped/runs/${encodeURIComponent(runId)}${p}`, { ...init, headers: { "content-type": "application/json", "x-airlock-request": "1", ...init.headers } });
        return { status: res.status, body: await res.json() as any };
      };
      const list = await api("/tasks");
      expect(list.body.taskInstances.filter((t: any) => t.taskId === "each").map((t: any) => t.mapIndex)).toEqual([0, 1, 2]);
      expect(list.body.taskInstances.find((t: any) => t.taskId === "list").mapIndex).toBe(-1);
      expect((await api("/tasks/each?mapIndex=1")).body).toMatchObject({ taskId: "each", mapIndex: 1, state: "success", tryNumber: 2 });
      const missing = await api("/tasks/each");
      expect(missing.status).toBe(404);
      expect(JSON.stringify(missing.body)).toContain("pass ?mapIndex=N");
      expect((await api("/tasks/each/tries?mapIndex=1")).body.tries.map((t: any) => t.state)).toEqual(["failed", "success"]);
      expect((await api("/tasks/each/tries/1/logs?mapIndex=1")).body.text).toContain("instance 1 of b.csv try 1");
      expect((await api("/tasks/each/xcom")).body.value).toHaveLength(3);
      expect((await api("/tasks/each/xcom?mapIndex=2")).body.value).toEqual({ file: "C.CSV", index: 2 });

      // Clear one instance: it runs again (try 2), its siblings keep their single try.
      const cleared = await project.cliJson<{ cleared: string[] }>(["tasks", "clear", "mapped", runId, "each", "--map-index", "0", "--yes", "--json"]);
      expect(cleared.json.cleared).toEqual(["each[0]"]);
      await waitUntil("instance 0 ran again", async () => (await api("/tasks/each?mapIndex=0")).body.state === "success" && (await api("/tasks/each?mapIndex=0")).body.tryNumber === 2 ? true : null, 60_000, 250);
      expect((await api("/tasks/each?mapIndex=2")).body.tryNumber).toBe(1);
      const marked = await project.cliJson<{ marked: string[] }>(["tasks", "mark", "mapped", runId, "shout", "failed", "--map-index", "2", "--json"]);
      expect(marked.json.marked).toEqual(["shout[2]"]);
      expect((await api("/tasks/shout?mapIndex=2")).body.state).toBe("failed");
      expect((await api("/tasks/shout?mapIndex=1")).body.state).toBe("success");
    } finally {
      await standalone.stop();
    }
  });
});
