/**
 * Daily operation through the real CLI: no store appears outside a project, `tasks clear|mark` with their
 * selection flags, backfill's inclusive end, --dry-run and --rerun-failed, exit 2 for bad input and for a taken
 * port, "not found" that names what is missing, and configuration errors with line/column and did-you-mean.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, createProject, waitUntil, type Project } from "./helpers/project.js";

/** Runs the CLI in `cwd` (not a project folder). */
function cliIn(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AIRLOCK") && !k.startsWith("VITEST"))) as Record<string, string>;
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("outside a project", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "airlock-noproject-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses with exit 2 and creates no store", async () => {
    for (const args of [["dags", "list"], ["runs", "list", "x"], ["variables", "list"], ["env", "list"]]) {
      const r = await cliIn(dir, args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/no Airlock project here/);
      expect(r.stderr).toMatch(/airlock init/);
      expect(r.stdout).not.toContain("(none)");
    }
    expect(existsSync(path.join(dir, ".airlock"))).toBe(false);
  });

  it("finds the project from a subfolder, like git", async () => {
    const project = path.join(dir, "proj");
    mkdirSync(path.join(project, "dags", "deep", "er"), { recursive: true });
    writeFileSync(path.join(project, "airlock.config.json"), JSON.stringify({ dagsFolder: "dags" }));
    const r = await cliIn(path.join(project, "dags", "deep", "er"), ["dags", "list", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(project, ".airlock"))).toBe(true);
    expect(existsSync(path.join(project, "dags", "deep", "er", ".airlock"))).toBe(false);
  });

  it("a dagsFolder that does not exist is an error, not an empty list", async () => {
    const project = path.join(dir, "nodags");
    mkdirSync(project);
    writeFileSync(path.join(project, "airlock.config.json"), JSON.stringify({ dagsFolder: "missing" }));
    const r = await cliIn(project, ["dags", "list"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/DAGs folder missing .*does not exist/);
  });

  it("configuration errors give line and column, did-you-mean and the expected type", async () => {
    const project = path.join(dir, "badconfig");
    mkdirSync(path.join(project, "dags"), { recursive: true });
    writeFileSync(path.join(project, "airlock.config.json"), '{\n  "dagsFolder": "dags",\n  "executor": { "parallelism": 4, }\n}\n');
    let r = await cliIn(project, ["dags", "list"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 3, column \d+/);
    writeFileSync(path.join(project, "airlock.config.json"), JSON.stringify({ dagsFolder: "dags", dagsFolders: "x", executor: { paralelism: 3 } }));
    r = await cliIn(project, ["dags", "list"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"executor.paralelism" (did you mean "executor.parallelism"?)');
    writeFileSync(path.join(project, "airlock.config.json"), JSON.stringify({ dagsFolder: "dags", executor: { parallelism: "lots" } }));
    r = await cliIn(project, ["dags", "list"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"executor.parallelism" must be a number/);
  });
});

const chainDag = `import { bash, dag } from "airlock";
export default dag({ id: "chain", schedule: null }, () => {
  const a = bash({ id: "a", command: "echo a" });
  const b = bash({ id: "b", command: "test -f {{ params.flag }} && echo b" });
  const c = bash({ id: "c", command: "echo c" });
  a.then(b);
  b.then(c);
}, );
`.replace("schedule: null }", 'schedule: null, params: { flag: "/nonexistent" } }');

/** Fails on 2026-11-20 until the file `flag` exists. */
const dailyDag = (flag: string) => `import { bash, dag } from "airlock";
export default dag({ id: "daily6", schedule: "0 6 * * *", timezone: "UTC", startDate: "2026-11-01", catchup: false }, () => {
  bash({ id: "day", command: "test {{ ds }} != 2026-11-20 || test -f ${flag}" });
});
`;

describe("tasks clear, tasks mark, backfill", () => {
  let project: Project;
  let flag: string;
  beforeAll(() => {
    project = createProject({ dags: { "chain.ts": chainDag } });
    flag = path.join(project.dir, "flag");
    project.writeDag("daily6.ts", dailyDag(flag));
  });
  afterAll(async () => project.cleanup());

  it("clear --failed --downstream reruns a failed task and its upstream_failed successors; --dry-run changes nothing", async () => {
    const t = await project.cliJson(["dags", "test", "chain", "--json"]);
    expect(t.code).toBe(1);
    const runId: string = t.json.runId;
    expect(t.json.tasks.map((x: { state: string }) => x.state)).toEqual(["success", "failed", "upstream_failed"]);

    const dry = await project.cliJson(["tasks", "clear", "chain", runId, "--failed", "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json).toEqual({ runId, dryRun: true, cleared: ["b", "c"] });
    const still = await project.cliJson(["tasks", "states", "chain", runId, "--json"]);
    expect(still.json.tasks.map((x: { state: string }) => x.state)).toEqual(["success", "failed", "upstream_failed"]);

    // Without --yes and without a terminal it asks nobody and changes nothing.
    const unconfirmed = await project.cli(["tasks", "clear", "chain", runId, "b", "--downstream"]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/--yes/);

    const upstream = await project.cliJson(["tasks", "clear", "chain", runId, "b", "--upstream", "--dry-run", "--json"]);
    expect(upstream.json.cleared).toEqual(["a", "b"]);

    const cleared = await project.cliJson(["tasks", "clear", "chain", runId, "b", "--downstream", "--yes", "--json"]);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.json.cleared).toEqual(["b", "c"]);
    const after = await project.cliJson(["tasks", "states", "chain", runId, "--json"]);
    expect(after.json.tasks.map((x: { state: string }) => x.state)).toEqual(["success", "none", "none"]);
  });

  it("mark --downstream sets a task and everything after it", async () => {
    const t = await project.cliJson(["dags", "test", "chain", "--json"]);
    const runId: string = t.json.runId;
    const marked = await project.cliJson(["tasks", "mark", "chain", runId, "b", "success", "--downstream", "--json"]);
    expect(marked.code, marked.stderr).toBe(0);
    expect(marked.json.marked).toEqual(["b", "c"]);
    const s = await project.cliJson(["tasks", "states", "chain", runId, "--json"]);
    expect(s.json.tasks.map((x: { state: string }) => x.state)).toEqual(["success", "success", "success"]);
    const bad = await project.cli(["tasks", "mark", "chain", runId, "b", "running"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/success or failed/);
  });

  it("not found names the thing that is missing", async () => {
    const r = await project.cli(["tasks", "states", "nosuchdag", "latest"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/DAG "nosuchdag" was not found/);
    const c = await project.cli(["tasks", "clear", "chain", "nosuchrun", "--yes"]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/Run "nosuchrun" was not found/);
  });

  it("backfill: a date-only end is inclusive, --dry-run lists without creating, skipped runs are named, --rerun-failed reruns", async () => {
    const dry = await project.cliJson(["dags", "backfill", "daily6", "--start", "2026-11-20", "--end", "2026-11-22", "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.runs.map((r: { logicalDate: string; action: string }) => [r.logicalDate, r.action])).toEqual([
      ["2026-11-20T06:00:00.000Z", "create"], ["2026-11-21T06:00:00.000Z", "create"], ["2026-11-22T06:00:00.000Z", "create"],
    ]);
    expect((await project.cliJson(["runs", "list", "daily6", "--json"])).json.items).toEqual([]);

    const first = await project.cliJson(["dags", "backfill", "daily6", "--start", "2026-11-21", "--end", "2026-11-21", "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.created).toHaveLength(1);

    const again = await project.cli(["dags", "backfill", "daily6", "--start", "2026-11-20", "--end", "2026-11-22"]);
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toMatch(/skipping backfill__daily6__2026-11-21T06:00:00.000Z: it exists \(success\)/);
    expect(again.stderr).toMatch(/\[3\/3\]/);
    expect(again.stderr).toMatch(/3 intervals/);

    writeFileSync(flag, "");
    const kept = await project.cliJson(["dags", "backfill", "daily6", "--start", "2026-11-20", "--end", "2026-11-20", "--json"]);
    expect(kept.code).toBe(1);
    expect(kept.json.skipped).toEqual(["backfill__daily6__2026-11-20T06:00:00.000Z"]);
    // --dry-run with --rerun-failed says which failed run it would run again, and changes nothing.
    const dryRerun = await project.cliJson(["dags", "backfill", "daily6", "--start", "2026-11-20", "--end", "2026-11-22", "--rerun-failed", "--dry-run", "--json"]);
    expect(dryRerun.code, dryRerun.stderr).toBe(0);
    expect(dryRerun.json.runs.map((r: { runId: string; action: string; state: string | null }) => [r.runId, r.action, r.state])).toEqual([
      ["backfill__daily6__2026-11-20T06:00:00.000Z", "rerun", "failed"],
      ["backfill__daily6__2026-11-21T06:00:00.000Z", "skip", "success"],
      ["backfill__daily6__2026-11-22T06:00:00.000Z", "skip", "success"],
    ]);
    const stillFailed = await project.cliJson(["tasks", "states", "daily6", "backfill__daily6__2026-11-20T06:00:00.000Z", "--json"]);
    expect(stillFailed.json.state).toBe("failed");
    expect(stillFailed.json.tasks[0].tryNumber).toBe(1);
    const rerun = await project.cliJson(["dags", "backfill", "daily6", "--start", "2026-11-20", "--end", "2026-11-22", "--rerun-failed", "--json"]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.json.rerun).toEqual(["backfill__daily6__2026-11-20T06:00:00.000Z"]);
    expect(rerun.json.runs.map((r: { state: string }) => r.state)).toEqual(["success", "success", "success"]);

    const manual = await project.cli(["dags", "backfill", "chain", "--start", "2026-11-20", "--end", "2026-11-22"]);
    expect(manual.code).toBe(2);
    expect(manual.stderr).toMatch(/schedule null/);
  });
});

describe("standalone", () => {
  let project: Project;
  let blocker: net.Server;
  beforeAll(async () => {
    project = createProject({ dags: { "chain.ts": chainDag } });
    blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  });
  afterAll(async () => {
    blocker.close();
    await project.cleanup();
  });

  it("exits with code 2 when its port is taken, instead of staying alive", async () => {
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await project.cli(["standalone", "--port", String(port)], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already in use/);
  });
});

describe("init for editors", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "airlock-init-editor-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes package.json and tsconfig.json; npx airlock runs and tsc type-checks DAG files against \"airlock\"", async () => {
    const project = path.join(dir, "p");
    const init = await cliIn(dir, ["init", "p"]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("dags unpause example");
    expect(existsSync(path.join(project, "package.json"))).toBe(true);
    expect(existsSync(path.join(project, "tsconfig.json"))).toBe(true);
    const npx = await new Promise<{ code: number; out: string }>((resolve) => {
      const c = spawn(path.join(project, "node_modules", ".bin", "airlock"), ["--version"], { cwd: project });
      let out = "";
      c.stdout.on("data", (d) => (out += d));
      c.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
    expect(npx.code).toBe(0);
    expect(npx.out).toMatch(/^\d+\.\d+\.\d+/);
    const tsc = path.join(BIN, "..", "..", "node_modules", "typescript", "bin", "tsc");
    const check = (file: string) => new Promise<{ code: number; out: string }>((resolve) => {
      const c = spawn(process.execPath, [tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", "--types", "node", file], { cwd: project });
      let out = "";
      c.stdout.on("data", (d) => (out += d));
      c.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
    writeFileSync(path.join(project, "dags", "typed.ts"), `import { bash, dag, fn } from "airlock";
export default dag({ id: "typed", schedule: null }, () => {
  bash({ id: "a", command: "echo a" }).then(fn({ id: "b", run: async (ctx) => ctx.ds.length }));
});
`);
    const good = await check("dags/typed.ts");
    expect(good.code, good.out).toBe(0);
    writeFileSync(path.join(project, "dags", "wrong.ts"), `import { bash, dag } from "airlock";
export default dag({ id: "wrong", schedule: null }, () => {
  bash({ id: "a", comand: "echo a" });
});
`);
    const bad = await check("dags/wrong.ts");
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/comand/);
  });
});

describe("new DAGs start paused by default", () => {
  let project: Project;
  beforeAll(() => {
    project = createProject({
      config: { scheduler: { dagsArePausedAtCreation: true, catchupConfirmAbove: 3 } },
      dags: {
        "hourly.ts": `import { bash, dag } from "airlock";
export default dag({ id: "hourly", schedule: "@hourly", startDate: "2026-01-01", catchup: true }, () => { bash({ id: "a", command: "echo a" }); });
`,
        "optout.ts": `import { bash, dag } from "airlock";
export default dag({ id: "optout", schedule: null, pausedOnCreation: false }, () => { bash({ id: "a", command: "echo a" }); });
`,
      },
    });
  });
  afterAll(async () => project.cleanup());

  it("a new DAG is paused unless its file opts out; unpausing a large catch-up asks first", async () => {
    const list = await project.cliJson(["dags", "list", "--json"]);
    expect(list.code, list.stderr).toBe(0);
    const paused = Object.fromEntries(list.json.items.map((d: { dagId: string; isPaused: boolean }) => [d.dagId, d.isPaused]));
    expect(paused).toEqual({ hourly: true, optout: false });
    const asked = await project.cli(["dags", "unpause", "hourly"]);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toMatch(/catch-up runs/);
    expect(asked.stderr).toMatch(/--yes/);
    expect((await project.cliJson(["dags", "list", "--json"])).json.items.find((d: { dagId: string }) => d.dagId === "hourly").isPaused).toBe(true);
    const yes = await project.cli(["dags", "unpause", "hourly", "--yes"]);
    expect(yes.code, yes.stderr).toBe(0);
    expect((await project.cliJson(["dags", "list", "--json"])).json.items.find((d: { dagId: string }) => d.dagId === "hourly").isPaused).toBe(false);
  });
});

describe("dags test shows progress as it happens", () => {
  let project: Project;
  let gate: string;
  beforeAll(() => {
    project = createProject();
    gate = path.join(project.dir, "gate");
    project.writeDag("slow.ts", `import { bash, dag } from "airlock";
export default dag({ id: "slow", schedule: null }, () => {
  bash({ id: "wait", command: "echo first line; while [ ! -e ${gate} ]; do sleep 0.1; done; echo second line" });
});
`);
  });
  afterAll(async () => project.cleanup());

  it("streams a task's log lines while it runs, and its end line after them", async () => {
    const p = project.spawnCli(["dags", "test", "slow"]);
    await p.waitFor(/wait \| first line/, 120_000);
    // The task is still waiting for the gate: its line came while it ran, not at its end.
    expect(p.stdout()).not.toContain("--- wait:");
    expect(p.stdout()).not.toContain("second line");
    writeFileSync(gate, "");
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out.indexOf("wait | second line")).toBeGreaterThan(out.indexOf("wait | first line"));
    expect(out.indexOf("--- wait: success")).toBeGreaterThan(out.indexOf("wait | second line"));
    expect(out.match(/wait \| first line/g)).toHaveLength(1);
  });
});

describe("dags trigger --wait", () => {
  let project: Project;
  beforeAll(() => {
    project = createProject({ config: { scheduler: { dagsArePausedAtCreation: true } }, dags: { "chain.ts": chainDag } });
  });
  afterAll(async () => project.cleanup());

  it("says why it waits (no scheduler, paused DAG) and gives up after --timeout with exit 2", async () => {
    const r = await project.cli(["dags", "trigger", "chain", "--wait", "--timeout", "2s"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no scheduler is running/);
    expect(r.stderr).toMatch(/DAG chain is paused.*airlock dags unpause chain/);
    expect(r.stderr).toMatch(/did not end within 2 s/);
    const bad = await project.cli(["dags", "trigger", "chain", "--wait", "--timeout", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--timeout "soon" is not a duration/);
  });

  it("shows task states as they change while a scheduler runs the run", async () => {
    await project.cli(["dags", "unpause", "chain"]);
    const standalone = await project.startStandalone();
    try {
      const r = await project.cli(["dags", "trigger", "chain", "--wait", "--conf", JSON.stringify({ flag: path.join(project.dir, "airlock.config.json") })]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/c: success/);
      // As they change, not at the end: "hold: running" shows while hold waits for a gate the test opens only then.
      const gate = path.join(project.dir, "gate");
      project.writeDag("held.ts", `import { bash, dag } from "airlock";
export default dag({ id: "held", schedule: null }, () => { bash({ id: "hold", command: ${JSON.stringify(`while [ ! -e ${gate} ]; do sleep 0.05; done`)} }); });
`);
      await waitUntil("held to be parsed", async () => (await project.cli(["dags", "unpause", "held"])).code === 0);
      const wait = project.spawnCli(["dags", "trigger", "held", "--wait"]);
      await waitUntil("hold: running on stderr", () => /hold: running/.test(wait.stderr()));
      expect(wait.stderr()).not.toMatch(/hold: success/);
      writeFileSync(gate, "");
      const held = await wait.done;
      expect(held.code, held.stderr).toBe(0);
      expect(held.stderr).toMatch(/hold: running\n(.*\n)*?\s*hold: success/);
    } finally {
      await standalone.stop();
    }
  });
});

describe("configuration errors", () => {
  let project: Project;
  beforeAll(() => {
    project = createProject({ dags: { "needsvar.ts": `import { fn, dag } from "airlock";
export default dag({ id: "needsvar", schedule: null }, () => {
  fn({ id: "read", retries: 3, retryDelay: "1s", grants: { variables: ["absent_var"] }, run: async (ctx) => ctx.variables.get("absent_var") });
});
` } });
  });
  afterAll(async () => project.cleanup());

  it("a missing variable fails at once without burning retries", async () => {
    const r = await project.cliJson(["dags", "test", "needsvar", "--json"]);
    expect(r.code).toBe(1);
    expect(r.json.tasks[0]).toMatchObject({ taskId: "read", state: "failed", tryNumber: 1 });
    const log = await project.cli(["tasks", "logs", "needsvar", r.json.runId, "read"]);
    expect(log.stdout).toMatch(/not retried: a configuration error/);
  });
});

describe("tasks test, dags test [date], dags delete", () => {
  let project: Project;
  beforeAll(() => {
    project = createProject({ dags: { "three.ts": `import { bash, fn, dag } from "airlock";
export default dag({ id: "three", schedule: null }, () => {
  const a = bash({ id: "a", command: "exit 3" });
  const b = fn({ id: "b", run: async (ctx) => { ctx.log.info("b ran on " + ctx.ds); return ctx.ds; } });
  a.then(b);
});
` } });
  });
  afterAll(async () => project.cleanup());

  it("tasks test runs one task without its dependencies and writes no state", async () => {
    const r = await project.cliJson(["tasks", "test", "three", "b", "2026-05-04", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ dagId: "three", taskId: "b", state: "success", xcom: "2026-05-04" });
    const plain = await project.cli(["tasks", "test", "three", "b"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/b \| .*b ran on \d{4}-\d{2}-\d{2}/);
    expect(plain.stdout).toMatch(/no state was written/);
    // Nothing of it is in the store or the log folder.
    expect((await project.cliJson(["runs", "list", "three", "--json"])).json.items).toEqual([]);
    expect(existsSync(path.join(project.stateDir, "logs", "dag_id=three"))).toBe(false);
    const failing = await project.cli(["tasks", "test", "three", "a"]);
    expect(failing.code).toBe(1);
    const unknown = await project.cli(["tasks", "test", "three", "zz"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Task "zz" was not found/);
  });

  it("dags test takes a logical date; dags delete removes the DAG's runs and logs and says its file stays", async () => {
    const t = await project.cliJson(["dags", "test", "three", "2026-02-03", "--json"]);
    expect(t.code).toBe(1);
    expect(t.json.runId).toContain("2026-02-03T00:00:00.000Z");
    expect(existsSync(path.join(project.stateDir, "logs", "dag_id=three"))).toBe(true);
    const refused = await project.cli(["dags", "delete", "three"]);
    expect(refused.code).toBe(2);
    const del = await project.cliJson(["dags", "delete", "three", "--yes", "--json"]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.json).toEqual({ dagId: "three", deletedRuns: 1, fileStays: true });
    expect(existsSync(path.join(project.stateDir, "logs", "dag_id=three"))).toBe(false);
    // The file is still there: the DAG comes back at the next parse, without its old runs.
    expect((await project.cliJson(["dags", "list", "--json"])).json.items.map((d: { dagId: string }) => d.dagId)).toContain("three");
    expect((await project.cliJson(["runs", "list", "three", "--json"])).json.items).toEqual([]);
  });
});

describe("the CLI's manners", () => {
  let project: Project;
  beforeAll(() => {
    project = createProject({ dags: { "chain.ts": chainDag } });
  });
  afterAll(async () => project.cleanup());

  it("prints a bash completion script that completes commands and subcommands", async () => {
    const r = await project.cli(["completion", "bash"]);
    expect(r.code).toBe(0);
    const script = path.join(project.dir, "completion.sh");
    writeFileSync(script, r.stdout);
    const complete = (words: string[]) => new Promise<string>((resolve) => {
      const c = spawn("bash", ["-c", `source ${script}; COMP_WORDS=(${words.join(" ")}); COMP_CWORD=${words.length - 1}; _airlock; echo "\${COMPREPLY[@]}"`]);
      let out = "";
      c.stdout.on("data", (d) => (out += d));
      c.on("close", () => resolve(out.trim()));
    });
    expect(await complete(["airlock", "ta"])).toBe("tasks");
    expect((await complete(["airlock", "tasks", "c"])).split(" ").sort()).toEqual(["clear"]);
    expect(await complete(["airlock", "dags", "trigger", "--ti"])).toBe("--timeout");
    expect((await project.cli(["completion", "fish"])).code).toBe(2);
  });

  it("colours states only on a terminal and never with NO_COLOR or --no-color; --version; correct plurals", async () => {
    const t = await project.cli(["dags", "test", "chain"]);
    expect(t.stdout).not.toContain("\u001b[");
    // A terminal is simulated with script(1), which gives the CLI a pty.
    const inPty = (args: string, env: Record<string, string> = {}) => new Promise<string>((resolve) => {
      const c = spawn("script", ["-qec", `${process.execPath} ${BIN} ${args}`, "/dev/null"], { cwd: project.dir, env: { ...process.env, ...project.env, ...env, TERM: "xterm" } });
      let out = "";
      c.stdout.on("data", (d) => (out += d));
      c.on("close", () => resolve(out));
    });
    const runId = (await project.cliJson(["runs", "list", "chain", "--json"])).json.items[0]?.runId;
    expect(await inPty(`tasks states chain ${runId}`)).toContain("\u001b[32m");
    expect(await inPty(`tasks states chain ${runId}`, { NO_COLOR: "1" })).not.toContain("\u001b[");
    expect(await inPty(`tasks states chain ${runId} --no-color`)).not.toContain("\u001b[");
    const v = await project.cli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const clear = await project.cli(["tasks", "clear", "chain", runId, "c", "--yes"]);
    expect(clear.stdout).toMatch(/cleared 1 task instance;/);
  });
});

describe("next run", () => {
  let project: Project;
  beforeAll(() => {
    project = createProject({ dags: { "daily.ts": `import { bash, dag } from "airlock";
export default dag({ id: "daily", schedule: "0 6 * * *", timezone: "UTC", startDate: "2026-01-01", catchup: false }, () => { bash({ id: "a", command: "echo a" }); });
` } });
  });
  afterAll(async () => project.cleanup());

  it("shows when the next run starts (its interval's end), beside its logical date", async () => {
    const standalone = await project.startStandalone();
    try {
      const deadline = Date.now() + 60_000;
      let d: { nextLogicalDate: string | null; nextRunAt: string | null } | undefined;
      while (Date.now() < deadline) {
        d = (await project.cliJson(["dags", "list", "--json"])).json.items.find((x: { dagId: string }) => x.dagId === "daily");
        if (d?.nextLogicalDate) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(d?.nextLogicalDate).toMatch(/T06:00:00.000Z$/);
      expect(Date.parse(d?.nextRunAt ?? "") - Date.parse(d?.nextLogicalDate ?? "")).toBe(86_400_000);
      const api = await fetch(`${standalone.url}/api/v1/dags/daily`).then((r) => r.json()) as { nextRunAt: string; nextLogicalDate: string };
      expect(api.nextRunAt).toBe(d?.nextRunAt);
    } finally {
      await standalone.stop();
    }
  });
});
