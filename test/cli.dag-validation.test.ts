/**
 * DAG files are parsed in child processes: a cycle, duplicate task ids, unknown options, a file that throws, does
 * not compile or loops forever each become an import error (file + message) listed by `airlock dags list --json`,
 * while the other DAGs keep working. Also: the CLI's exit codes 0 / 1 / 2.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const GOOD = `import { bash, dag } from "airlock";
export default dag({ id: "good" }, () => {
  bash({ id: "hello", command: "echo hello" });
});
`;
const FAILING = `import { bash, dag } from "airlock";
export default dag({ id: "failing" }, () => {
  bash({ id: "boom", command: "echo going down; exit 7" });
});
`;
const CYCLE = `import { bash, dag } from "airlock";
export default dag({ id: "cyclic" }, () => {
  const start = bash({ id: "start", command: "echo" });
  const extract = bash({ id: "extract", command: "echo" });
  const transform = bash({ id: "transform", command: "echo" });
  const load = bash({ id: "load", command: "echo" });
  start.then(extract).then(transform).then(load).then(extract);
});
`;
const DUPLICATE = `import { bash, dag } from "airlock";
export default dag({ id: "duplicate" }, () => {
  bash({ id: "same_id", command: "echo 1" });
  bash({ id: "same_id", command: "echo 2" });
});
`;
const UNKNOWN_TASK_OPTION = `import { bash, dag } from "airlock";
export default dag({ id: "unknown_task_option" }, () => {
  bash({ id: "t", command: "echo", retrys: 3 } as any);
});
`;
const UNKNOWN_DAG_OPTION = `import { bash, dag } from "airlock";
export default dag({ id: "unknown_dag_option", schedul: "@daily" } as any, () => {
  bash({ id: "t", command: "echo" });
});
`;
const BAD_WEIGHT_RULE = `import { bash, dag } from "airlock";
export default dag({ id: "bad_weight_rule" }, () => {
  bash({ id: "t", command: "echo", priorityWeight: 2, weightRule: "sideways" } as any);
});
`;
const BAD_MAX_ACTIVE_TASKS = `import { bash, dag } from "airlock";
export default dag({ id: "bad_max_active_tasks", maxActiveTasks: 0 }, () => {
  bash({ id: "t", command: "echo" });
});
`;
const BAD_SENSOR_MODE = `import { dag, fileSensor } from "airlock";
export default dag({ id: "bad_sensor_mode" }, () => {
  fileSensor({ id: "wait", path: "/tmp/x", mode: "later" } as any);
});
`;
const THROWS = `import { dag } from "airlock";
const config = JSON.parse("{ not json");
export default dag({ id: "throws" }, () => {});
`;
const NO_COMPILE = `import { dag, bash } from "airlock";
export default dag({ id: "no_compile" }, () => {
  bash({ id: "t", command: "echo" }
});
`;
const LOOPS = `import { dag } from "airlock";
while (Date.now() > 0) {}
export default dag({ id: "loops" }, () => {});
`;

let project: Project;
type ListJson = { items: Array<{ dagId: string; fileloc: string }>; importErrors: Array<{ fileloc: string; message: string }> };

beforeAll(() => {
  project = createProject({
    config: { scheduler: { parseTimeoutMs: 3000 } },
    dags: {
      "good.ts": GOOD, "failing.ts": FAILING, "cycle.ts": CYCLE, "duplicate.ts": DUPLICATE, "unknown_task_option.ts": UNKNOWN_TASK_OPTION,
      "unknown_dag_option.ts": UNKNOWN_DAG_OPTION, "throws.ts": THROWS, "no_compile.ts": NO_COMPILE, "loops.ts": LOOPS,
      "bad_weight_rule.ts": BAD_WEIGHT_RULE, "bad_max_active_tasks.ts": BAD_MAX_ACTIVE_TASKS, "bad_sensor_mode.ts": BAD_SENSOR_MODE,
    },
  });
});
afterAll(async () => {
  await project.cleanup();
});

describe("import errors", () => {
  let list: ListJson;
  const errorOf = (file: string) => {
    const e = list.importErrors.find((x) => x.fileloc === `dags/${file}`);
    if (!e) throw new Error(`no import error for ${file}: ${JSON.stringify(list.importErrors)}`);
    return e.message;
  };

  beforeAll(async () => {
    const r = await project.cliJson<ListJson>(["dags", "list", "--json"]);
    expect(r.code).toBe(0);
    list = r.json;
  });

  it("lists the good DAGs and one import error per bad file", () => {
    expect(list.items.map((d) => d.dagId).sort()).toEqual(["failing", "good"]);
    expect(list.importErrors.map((e) => e.fileloc).sort()).toEqual([
      "dags/bad_max_active_tasks.ts", "dags/bad_sensor_mode.ts", "dags/bad_weight_rule.ts", "dags/cycle.ts", "dags/duplicate.ts", "dags/loops.ts", "dags/no_compile.ts", "dags/throws.ts",
      "dags/unknown_dag_option.ts", "dags/unknown_task_option.ts",
    ]);
  });

  it("a cycle is rejected naming the tasks in it", () => {
    expect(errorOf("cycle.ts")).toContain('DAG "cyclic" has a cycle: extract -> transform -> load -> extract');
    expect(errorOf("cycle.ts")).not.toMatch(/start ->/);
  });

  it("duplicate task ids are rejected naming the id", () => {
    expect(errorOf("duplicate.ts")).toContain('DAG "duplicate" has two tasks with id "same_id"');
  });

  it("unknown options are rejected naming the option and its DAG file line", () => {
    expect(errorOf("unknown_task_option.ts")).toContain('bash("t") in DAG "unknown_task_option": unknown option "retrys" (did you mean "retries"?)');
    expect(errorOf("unknown_task_option.ts")).toMatch(/dags\/unknown_task_option\.ts:3:\d+/);
    expect(errorOf("unknown_dag_option.ts")).toContain('dag "unknown_dag_option": unknown option "schedul"');
  });

  it("bad fairness options are rejected naming the option and the fix", () => {
    expect(errorOf("bad_weight_rule.ts")).toContain('weightRule "sideways" is unknown; use one of downstream, upstream, absolute');
    expect(errorOf("bad_max_active_tasks.ts")).toContain('dag "bad_max_active_tasks": maxActiveTasks must be an integer >= 1, got 0');
    expect(errorOf("bad_sensor_mode.ts")).toContain('mode "later" is unknown; use "poke"');
  });

  it("a file that throws, does not compile, or loops forever is an import error", () => {
    expect(errorOf("throws.ts")).toMatch(/^SyntaxError: .*JSON/);
    expect(errorOf("throws.ts")).toMatch(/dags\/throws\.ts:2:\d+/);
    expect(errorOf("no_compile.ts")).toMatch(/^DagCompileError: no_compile\.ts:4:\d+: Expected "\)" but found "}"$/);
    expect(errorOf("loops.ts")).toContain("parsing loops.ts took longer than 3 s and was stopped");
  });

  it("prints import errors for people on stderr, the DAGs on stdout", async () => {
    const r = await project.cli(["dags", "list"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^good\s+manual/m);
    expect(r.stderr).toContain("import error in dags/cycle.ts:");
  });

  it("the other DAGs keep working, and a DAG with an import error says to fix it", async () => {
    const ok = await project.cliJson(["dags", "test", "good", "--json"]);
    expect(ok.code).toBe(0);
    expect(ok.json.state).toBe("success");
    const broken = await project.cli(["dags", "test", "cyclic"]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('DAG "cyclic" was not found');
    expect(broken.stderr).toContain("Fix the import errors first");
    expect(broken.stderr).toContain("dags/cycle.ts");
  });

  it("fixing a file clears its import error and brings its DAG", async () => {
    project.writeDag("cycle.ts", CYCLE.replace(".then(load).then(extract)", ".then(load)"));
    const r = await project.cliJson<ListJson>(["dags", "list", "--json"]);
    expect(r.json.items.map((d) => d.dagId)).toContain("cyclic");
    expect(r.json.importErrors.map((e) => e.fileloc)).not.toContain("dags/cycle.ts");
    expect(r.json.importErrors).toHaveLength(9);
  });
});

describe("exit codes", () => {
  it("0 when a run succeeds, 1 when it fails, with the failing task's log", async () => {
    expect((await project.cli(["dags", "test", "good"])).code).toBe(0);
    const failed = await project.cli(["dags", "test", "failing"]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("boom | going down");
    expect(failed.stdout).toContain("bash command failed with exit code 7");
    expect(failed.stdout).toMatch(/run test__\S+ of failing: failed/);
  });

  it("2 for bad usage or input, each with a hint", async () => {
    const cases: Array<{ args: string[]; stderr: RegExp }> = [
      { args: ["dags", "test", "nope"], stderr: /DAG "nope" was not found/ },
      { args: ["dags", "test", "good", "--conf", "{bad"], stderr: /--conf is not valid JSON[\s\S]*hint:/ },
      { args: ["dags", "test", "good", "--conf", "[1]"], stderr: /--conf must be a JSON object/ },
      { args: ["dags", "test", "good", "--backend", "mainframe"], stderr: /Allowed choices are inline, process/ },
      { args: ["dags", "frobnicate"], stderr: /unknown command 'frobnicate'/ },
      { args: ["tasks", "logs", "good", "latest", "hello", "--try", "zero"], stderr: /--try "zero" is not a try number/ },
      { args: ["runs", "list", "good", "--state", "sleepy"], stderr: /--state "sleepy" is unknown/ },
      { args: ["dags", "backfill", "good", "--start", "yesterday", "--end", "2026-01-02"], stderr: /--start "yesterday" is not a date/ },
      { args: ["variables", "get", "missing_var"], stderr: /Variable "missing_var" was not found[\s\S]*hint: Set it with/ },
    ];
    for (const c of cases) {
      const r = await project.cli(c.args);
      expect({ args: c.args, code: r.code }).toEqual({ args: c.args, code: 2 });
      expect(r.stderr).toMatch(c.stderr);
    }
  });

  it("errors are JSON on stderr with --json, and help exits 0", async () => {
    const r = await project.cli(["dags", "test", "nope", "--json"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: "not_found", message: 'DAG "nope" was not found' } });
    const help = await project.cli(["dags", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("backfill");
  });
});
