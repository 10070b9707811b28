/**
 * Python tasks in bubblewrap sandboxes, through the real CLI: the python_versions example, the same feature DAG as
 * on the process backend, a filesystem that hides the project (store, config, DAG folder), and memory and process
 * limits enforced by the try's cgroup.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Project } from "./helpers/project.js";
import { PASSWORD, pythonProject, testDag } from "./helpers/python-dag.js";
import { ensureBubblewrap } from "./helpers/sandbox.js";

let project: Project;
beforeAll(() => {
  ensureBubblewrap();
  project = pythonProject("sandbox");
});
afterAll(async () => {
  await project.cleanup();
});

describe("python tasks on the sandbox backend", () => {
  it("python_versions: numpy 1.26 and 2.2 side by side, each in its own sandbox", async () => {
    const run = await testDag(project, "python_versions", ["--backend", "sandbox"]);
    expect(run.state).toBe("success");
    expect(run.task("numpy1")).toMatchObject({ isolation: "sandbox", xcom: { numpy: "1.26.4" } });
    expect(run.task("numpy2")).toMatchObject({ isolation: "sandbox", xcom: { numpy: "2.2.6" } });
  });

  it("py_features: context, masking, tracebacks and 64 MiB results; the project is out of sight", async () => {
    const run = await testDag(project, "py_features");
    expect(run.task("ctx")).toMatchObject({ state: "success", isolation: "sandbox", xcom: { greeting: "hello", up: { rows: 3 }, conn: { password: "***" } } });
    expect(await run.logs("ctx")).not.toContain(PASSWORD);
    expect(await run.logs("boom")).toContain('File "pyjobs/features.py", line 31, in boom');
    expect(run.task("check_big").xcom).toMatchObject({ length: 64 * 1024 * 1024, equal: true });
    expect(run.task("in_env").xcom.numpy).toBe("1.26.4");
    const sealed = run.task("sealed").xcom;
    // No store, no config, no DAG folder: only the code the DAG version shipped. (bwrap sets PWD.)
    expect(sealed.readable).toEqual([]);
    for (const key of sealed.env) expect(["HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "PATH", "PWD", "TERM", "TMPDIR", "TZ"]).toContain(key);
  }, 300_000);

  it("memory and pids limits hold for Python tasks", async () => {
    project.writeDag("py_limits.ts", `import { dag, python } from "airlock";
export default dag({ id: "py_limits", defaultArgs: { backend: "sandbox", environment: "numpy2" } }, () => {
  python({ id: "hog", callable: "pyjobs/features.py:hog_memory", resources: { memory: "256Mi" } });
  python({ id: "forks", callable: "pyjobs/features.py:fork_many", resources: { pids: 32 } });
});
`);
    const run = await testDag(project, "py_limits");
    expect(run.task("hog").state).toBe("failed");
    expect(await run.logs("hog")).toMatch(/memory limit|MemoryError/);
    expect(run.task("forks").state).toBe("failed");
    expect(await run.logs("forks")).toMatch(/BlockingIOError|Resource temporarily unavailable|OSError/);
  }, 120_000);
});
