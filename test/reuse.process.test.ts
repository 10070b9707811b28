/**
 * `reuse: true` on the process backend, end to end through the CLI: tries of one environment run one after another
 * in one long-lived runner (same pid, shared module state) with their own logs, XComs and masking; the try is
 * recorded as reused; a timed-out try takes its runner with it and the next try gets a fresh one; another
 * environment, and a task that says `reuse: false`, never share that process. Bad values name the field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnvironmentSpec } from "../src/environments/spec.js";
import { dag, fn } from "../src/sdk/index.js";
import { createProject, type Project } from "./helpers/project.js";
import { alive } from "./helpers/sandbox.js";


const SECRET = "reuse-secret-9d2f61c4";

const DAG = `import { dag, fn, chain } from "airlock";
const seen = { n: 0 };
const me = (ctx) => ({ pid: process.pid, n: ++seen.n, home: process.env.HOME, try: ctx.tryNumber });
export default dag({ id: "reuse", defaultArgs: { retryDelay: "0s" } }, () => {
  const a1 = fn({ id: "a1", environment: "ea", run: async (ctx) => me(ctx) });
  const a2 = fn({ id: "a2", environment: "ea", grants: { variables: ["token"] }, run: async (ctx) => {
    console.log("a2 says " + ctx.variables.get("token"));
    return { ...me(ctx), token: ctx.variables.get("token") };
  } });
  const a3 = fn({ id: "a3", environment: "ea", run: async (ctx) => me(ctx) });
  const slow = fn({ id: "slow", environment: "ea", retries: 1, executionTimeout: "2s", run: async (ctx) => {
    if (ctx.tryNumber === 1) { console.log("slow hangs in " + process.pid); await new Promise(() => setInterval(() => {}, 1000)); }
    return me(ctx);
  } });
  const boom = fn({ id: "boom", environment: "ea", retries: 1, run: async (ctx) => {
    if (ctx.tryNumber === 1) throw new Error("boom on try 1");
    return me(ctx);
  } });
  // Leaves a process in a session of its own that holds the runner's output pipe: it must end with the runner.
  const daemon = fn({ id: "daemon", environment: "ea", run: async () => {
    const child = (await import("node:child_process")).spawn("sleep", ["600"], { detached: true, stdio: ["ignore", "inherit", "inherit"] });
    child.unref();
    return child.pid;
  } });
  chain(a1, a2, a3, boom, slow, daemon);
  fn({ id: "b1", environment: "eb", run: async (ctx) => me(ctx) });
  fn({ id: "own", environment: "ea", reuse: false, run: async (ctx) => me(ctx) });
});
`;

interface Me { pid: number; n: number; home: string; try: number; token?: string }

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "reuse.ts": DAG }, env: { AIRLOCK_VAR_TOKEN: SECRET } });
  for (const name of ["ea", "eb"]) {
    project.writeFile(`environments/${name}/package.json`, JSON.stringify({ name, version: "1.0.0", private: true }));
    project.writeFile(`environments/${name}/environment.yaml`, "reuse: true\n");
  }
});
afterAll(async () => {
  await project?.cleanup();
});

describe("reuse: true on the process backend", () => {
  let summary: { runId: string; state: string; tasks: Array<{ taskId: string; state: string; tryNumber: number; isolation: string; xcom: unknown }> };
  const xcom = (id: string) => summary.tasks.find((t) => t.taskId === id)?.xcom as Me;

  beforeAll(async () => {
    const r = await project.cliJson(["dags", "test", "reuse", "--json"], { timeoutMs: 240_000 });
    summary = r.json;
  }, 300_000);

  it("runs the tries of one environment in one runner, one after another", () => {
    expect(summary.state).toBe("success");
    const [a1, a2, a3] = [xcom("a1"), xcom("a2"), xcom("a3")];
    // The pool may hold more than one idle runner of a key (up to parallelism), so which runner a try gets is
    // not fixed; the chain's tries share runners, and module state lives on in each (the documented trade-off).
    const chainTries = [a1, a2, a3, xcom("boom")];
    expect(new Set(chainTries.map((t) => t.pid)).size).toBeLessThan(chainTries.length);
    for (const pid of new Set(chainTries.map((t) => t.pid))) {
      const ns = chainTries.filter((t) => t.pid === pid).map((t) => t.n);
      expect(ns).toEqual([...ns].sort((x, y) => x - y));
    }
    expect(Math.max(...chainTries.map((t) => t.n))).toBeGreaterThan(1);
    // Each try still gets its own scratch folder as HOME.
    expect(new Set([a1.home, a2.home, a3.home]).size).toBe(3);
    // A try that failed by throwing leaves its runner serving: the retry ran in it too.
    expect(summary.tasks.find((t) => t.taskId === "boom")?.tryNumber).toBe(2);
  });

  it("never shares a runner across environments, nor with a task that says reuse: false", () => {
    const a = xcom("a1").pid;
    expect(xcom("b1").pid).not.toBe(a);
    expect(xcom("own").pid).not.toBe(a);
    expect(xcom("own").n).toBe(1);
  });

  it("kills the runner of a timed-out try and gives the retry a fresh one", async () => {
    const slow = summary.tasks.find((t) => t.taskId === "slow");
    expect(slow?.tryNumber).toBe(2);
    const log = await project.cli(["tasks", "logs", "reuse", summary.runId, "slow", "--try", "1"]);
    const hung = Number(/slow hangs in (\d+)/.exec(log.stdout)?.[1]);
    expect(hung).toBeGreaterThan(0);
    expect(xcom("slow").pid).not.toBe(hung);
    expect(log.stdout).toContain("execution timeout of 2 s exceeded");
  });

  it("records each try as reused in the CLI and the API view, with its own masked log and XCom", async () => {
    const tries = await project.cliJson(["tasks", "tries", "reuse", summary.runId, "a2", "--json"]);
    expect(tries.json.tries).toHaveLength(1);
    expect(tries.json.tries[0]).toMatchObject({ tryNumber: 1, state: "success", isolation: "process", reused: true });
    const own = await project.cliJson(["tasks", "tries", "reuse", summary.runId, "own", "--json"]);
    expect(own.json.tries[0]).toMatchObject({ isolation: "process", reused: false });
    const table = await project.cli(["tasks", "tries", "reuse", summary.runId, "a3"]);
    expect(table.stdout).toContain("process (reused)");
    const log = await project.cli(["tasks", "logs", "reuse", summary.runId, "a2"]);
    expect(log.stdout).toContain("a2 says ***");
    expect(log.stdout).toContain(`isolation: process (reused): runner pid ${xcom("a2").pid}`);
    expect(log.stdout).not.toContain(SECRET);
    expect(xcom("a2").token).toBe("***");
    // One try's output never lands in another's log.
    const a3log = await project.cli(["tasks", "logs", "reuse", summary.runId, "a3"]);
    expect(a3log.stdout).not.toContain("a2 says");
    const boom1 = await project.cli(["tasks", "logs", "reuse", summary.runId, "boom", "--try", "1"]);
    expect(boom1.stdout).toContain("Error: boom on try 1");
  });

  it("leaves no runner behind when the orchestrator ends", () => {
    const daemon = summary.tasks.find((t) => t.taskId === "daemon")?.xcom as number;
    expect(typeof daemon).toBe("number");
    for (const pid of [xcom("a1").pid, xcom("b1").pid, xcom("slow").pid, daemon]) expect(alive(pid)).toBe(false);
  });
});

describe("reuse must be a boolean", () => {
  it("in a task's options", () => {
    let caught: unknown;
    try {
      dag({ id: "bad_reuse" }, () => {
        fn({ id: "t", reuse: "yes" as unknown as boolean, run: async () => 1 });
      });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).toContain("reuse must be true or false");
    expect((caught as { field?: string }).field).toBe("reuse");
  });

  it("in environment.yaml", () => {
    project.writeFile("environments/badreuse/package.json", JSON.stringify({ name: "badreuse", version: "1.0.0" }));
    project.writeFile("environments/badreuse/environment.yaml", "reuse: yes please\n");
    const config = { environmentsFolder: `${project.dir}/environments`, projectDir: project.dir };
    let caught: unknown;
    try {
      loadEnvironmentSpec(config, "badreuse");
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).toMatch(/environment\.yaml: reuse: .*expected boolean/);
    expect((caught as { hint?: string }).hint).toContain("reuse: true");
    project.writeFile("environments/badreuse/environment.yaml", "reuse: true\n");
    expect(loadEnvironmentSpec(config, "badreuse").reuse).toBe(true);
  });
});
