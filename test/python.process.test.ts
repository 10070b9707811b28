/**
 * Python tasks on the process backend, through the real CLI: the python_versions example (numpy 1.26 and 2.2 in one
 * DAG), the Airflow-like context with templated kwargs, grants and masking, logging, exceptions with the user's
 * file and line, 64 MiB results both ways, isolated(python(...)) and an allowlisted environment.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Project } from "./helpers/project.js";
import { PASSWORD, pythonProject, testDag } from "./helpers/python-dag.js";

let project: Project;
beforeAll(() => {
  project = pythonProject("process");
});
afterAll(async () => {
  await project.cleanup();
});

describe("python tasks on the process backend", () => {
  it("python_versions: two tasks import conflicting numpy versions from their own environments", async () => {
    const run = await testDag(project, "python_versions");
    expect(run.state).toBe("success");
    expect(run.task("numpy1")).toMatchObject({ state: "success", isolation: "process", xcom: { numpy: "1.26.4", label: "legacy", sum: 55 } });
    expect(run.task("numpy2")).toMatchObject({ state: "success", isolation: "process", xcom: { numpy: "2.2.6", label: "current", sum: 55 } });
    expect(run.task("compare").xcom).toEqual({ numpy1: "1.26.4", numpy2: "2.2.6" });
    const log = await run.logs("numpy1");
    expect(log).toContain("INFO jobs.numpy_report: legacy: numpy 1.26.4 on Python 3.11");
    expect(log).toMatch(/run test__\S+ try 1, logical date \d{4}-\d\d-\d\d/);
  });

  it("py_features: context, grants, masking, errors, 64 MiB results, isolated(), sealed environment", async () => {
    const run = await testDag(project, "py_features");
    expect(run.state).toBe("failed");

    const ctx = run.task("ctx");
    expect(ctx.state).toBe("success");
    const x = ctx.xcom;
    expect(x.day).toBe(x.ds);
    expect(x).toMatchObject({ n: "2", nested: { when: x.ds.replace(/-/g, "") }, params: { n: 2 }, ds_nodash: x.ds.replace(/-/g, ""), try_number: 1, up: { rows: 3 }, greeting: "hello" });
    expect(x.run_id).toBe(run.runId);
    expect(new Date(x.logical_date).toISOString()).toBe(new Date(x.ts).toISOString());
    expect(new Date(x.start).getTime()).toBeLessThanOrEqual(new Date(x.end).getTime());
    expect(x.conn).toEqual({ host: "db.example.com", login: "etl", port: 5432, schema: "warehouse", extra: { sslmode: "require" }, password: "***" });
    const ctxLog = await run.logs("ctx");
    expect(ctxLog).toContain("WARNING features: warned for");
    expect(ctxLog).toContain("the password is ***");
    expect(ctxLog).not.toContain(PASSWORD);

    expect(run.task("not_granted").state).toBe("failed");
    expect(await run.logs("not_granted")).toContain('NotGrantedError: variable "other" was not granted to task "not_granted" of DAG "py_features": add grants: { variables: ["other"] }');

    expect(run.task("boom").state).toBe("failed");
    const boom = await run.logs("boom");
    expect(boom).toContain('File "pyjobs/features.py", line 31, in boom');
    expect(boom).toContain("IndexError: list index out of range");
    expect(boom).toContain("try 1 failed: IndexError: list index out of range");

    const big = run.task("big");
    expect(big.state).toBe("success");
    expect(big.xcom).toHaveLength(64 * 1024 * 1024);
    const check = run.task("check_big").xcom;
    expect(check).toEqual({ length: 64 * 1024 * 1024, sha256: createHash("sha256").update(big.xcom as string).digest("hex"), equal: true });

    expect(run.task("in_env").xcom.numpy).toBe("1.26.4");

    const sealed = run.task("sealed").xcom;
    // Only the allowlist (Python itself sets LC_CTYPE when it coerces the C locale).
    for (const key of sealed.env) expect(["HOME", "LANG", "LC_ALL", "LC_CTYPE", "PATH", "TERM", "TMPDIR", "TZ"]).toContain(key);
    expect(sealed.env).not.toContain("AIRLOCK_VAR_GREETING");
    expect(sealed.executable).toMatch(/\/environments\/[0-9a-f]{64}\/venv\/bin\/python$/);
  }, 300_000);

  it("a python task without an environment runs on the host's python3; a missing interpreter names the installed ones", async () => {
    project.writeDag("py_plain.ts", `import { dag, python } from "airlock";
export default dag({ id: "py_plain" }, () => {
  python({ id: "plain", callable: "pyjobs/plain.py:main", kwargs: { x: 1 } });
});
`);
    project.writeFile("dags/pyjobs/plain.py", "import sys\n\ndef main(context, x):\n    return {'x': x, 'venv': sys.prefix != sys.base_prefix}\n");
    const run = await testDag(project, "py_plain");
    expect(run.task("plain")).toMatchObject({ state: "success", isolation: "process", xcom: { x: 1, venv: false } });

    project.writeFile("environments/py399/requirements.txt", "\n");
    project.writeFile("environments/py399/environment.yaml", 'python: "3.99"\n');
    const build = await project.cli(["env", "build", "py399"]);
    expect(build.code).toBe(1);
    expect(build.stdout + build.stderr).toMatch(/Python 3\.99 is not installed on this host \(found: .*3\.11\.\d+ \(/);
  });

  it("a callable whose file does not exist is an import error naming it", async () => {
    project.writeDag("py_missing.ts", `import { dag, python } from "airlock";
export default dag({ id: "py_missing" }, () => {
  python({ id: "gone", callable: "pyjobs/nope.py:main" });
});
`);
    const r = await project.cliJson<{ importErrors: Array<{ fileloc: string; message: string }> }>(["dags", "list", "--json"]);
    const error = r.json.importErrors.find((e) => e.fileloc.endsWith("py_missing.ts"));
    expect(error?.message).toContain('python("gone") in DAG "py_missing": pyjobs/nope.py was not found next to py_missing.ts');
  });
});
