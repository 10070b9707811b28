/**
 * Every example DAG of examples/dags runs green under `airlock dags test <id> --json` in a copy of the examples,
 * through the real CLI and real task processes; a few XComs prove the operators did their work.
 */
import { createServer, type Server } from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, waitUntil, type Project } from "./helpers/project.js";

interface Summary {
  dagId: string;
  runId: string;
  state: string;
  tasks: Array<{ taskId: string; state: string; tryNumber: number; isolation: string | null; xcom: any }>;
}

let project: Project;

beforeAll(() => {
  project = createProject({ examples: true });
});
afterAll(async () => {
  await project.cleanup();
});

async function test(dagId: string, extra: string[] = [], env?: Record<string, string>): Promise<{ summary: Summary; task: (id: string) => Summary["tasks"][number] }> {
  const r = await project.cliJson<Summary>(["dags", "test", dagId, "--json", ...extra], { env });
  expect(r.json.dagId).toBe(dagId);
  const task = (id: string) => {
    const t = r.json.tasks.find((x) => x.taskId === id);
    if (!t) throw new Error(`no task ${id} in ${JSON.stringify(r.json)}`);
    return t;
  };
  return { summary: r.json, task };
}

function states(s: Summary): Record<string, string> {
  return Object.fromEntries(s.tasks.map((t) => [t.taskId, t.state]));
}

describe("examples", () => {
  it("all parse without import errors", async () => {
    const r = await project.cliJson<{ items: Array<{ dagId: string }>; importErrors: unknown[] }>(["dags", "list", "--json"]);
    expect(r.json.importErrors).toEqual([]);
    expect(r.json.items.map((d) => d.dagId)).toEqual(expect.arrayContaining([
      "operators", "templating", "branching", "trigger_rules", "retries", "http_api", "file_sensor", "daily_batch", "daily_report", "params_schema",
      "task_groups", "trigger_dag", "triggered_report", "setup_teardown", "run_controls", "alerts", "mapping", "deferrable",
    ]));
  });

  it("operators: bash with env and cwd, exit 99 skips, fn reads XComs, empty joins", async () => {
    const { summary, task } = await test("operators");
    expect(summary.state).toBe("success");
    expect(task("greet").xcom).toBe("hello world from /tmp");
    expect(task("greet").isolation).toBe("process");
    expect(task("nothing_to_do").state).toBe("skipped");
    expect(task("process_files").state).toBe("skipped");
    expect(task("summarize").xcom).toMatchObject({ greeting: "hello world from /tmp", words: 4, tryNumber: 1 });
    expect(task("done").state).toBe("success");
    expect(task("start").tryNumber).toBe(0);
  });

  it("templating: params, dates, macros, xcom_pull, var.value and conn.x.host", async () => {
    const env = { AIRLOCK_CONN_WAREHOUSE: "postgres://etl@warehouse.example:5433/analytics", AIRLOCK_VAR_GREETING: "hej" };
    const { summary, task } = await test("templating", ["--conf", JSON.stringify({ days: 3 })], env);
    expect(summary.state).toBe("success");
    const ds = (task("report").xcom as { query: string }).query.match(/day >= '(\d{4}-\d{2}-\d{2})'/)?.[1] as string;
    const plus3 = new Date(Date.parse(`${ds}T00:00:00Z`) + 3 * 86_400_000).toISOString().slice(0, 10);
    expect(task("dates").xcom).toBe(plus3);
    expect(task("query").xcom).toBe(`SELECT * FROM orders WHERE day >= '${ds}' AND day < '${plus3}'`);
    expect(task("report").xcom).toMatchObject({ table: "orders", windowEnd: plus3 });
    const log = await project.cli(["tasks", "logs", "templating", summary.runId, "query"]);
    expect(log.stdout).toContain("hej from warehouse.example:5433/analytics");
    const dates = await project.cli(["tasks", "logs", "templating", summary.runId, "dates"]);
    expect(dates.stdout).toContain(`ds=${ds} ds_nodash=${ds.replaceAll("-", "")} month=${ds.slice(0, 4)}/${ds.slice(5, 7)}`);
    expect(dates.stdout).toContain(`run ${summary.runId} of templating, try 1`);
  });

  it("templating: without the connection the task fails and says how to add it", async () => {
    const { summary, task } = await test("templating");
    expect(summary.state).toBe("failed");
    expect(task("query").state).toBe("failed");
    const log = await project.cli(["tasks", "logs", "templating", summary.runId, "query"]);
    expect(log.stdout).toContain('connection "warehouse" does not exist');
    expect(log.stdout).toContain("airlock connections add warehouse");
  });

  it("branching: follows the chosen path, skips the other, joins either way", async () => {
    const full = await test("branching");
    expect(full.summary.state).toBe("success");
    expect(states(full.summary)).toMatchObject({ choose: "success", full_load: "success", truncate_first: "success", incremental_load: "skipped", join: "success", publish: "success" });
    expect(full.task("choose").xcom).toEqual(["full_load"]);
    expect(full.task("publish").xcom).toBe("published after full_load");
    const inc = await test("branching", ["--conf", '{"mode": "incremental"}']);
    expect(inc.summary.state).toBe("success");
    expect(states(inc.summary)).toMatchObject({ full_load: "skipped", truncate_first: "skipped", incremental_load: "success", join: "success", publish: "success" });
  });

  it("trigger_rules: every rule decides as in Airflow", async () => {
    const { summary } = await test("trigger_rules");
    expect(summary.state).toBe("success");
    expect(states(summary)).toEqual({
      ok: "success", broken: "failed", nothing_new: "skipped",
      rule_all_success: "success", rule_all_failed: "success", rule_all_done: "success", rule_one_success: "success",
      rule_one_failed: "success", rule_none_failed: "success", rule_none_skipped: "success", rule_always: "success",
      not_all_success: "upstream_failed", not_all_success_after_skip: "skipped", not_all_failed: "skipped",
      not_one_failed: "skipped", not_none_failed: "upstream_failed", not_none_skipped: "skipped",
      report: "success",
    });
  });

  it("retries: succeeds on the third try", async () => {
    const { summary, task } = await test("retries");
    expect(summary.state).toBe("success");
    expect(task("flaky")).toMatchObject({ state: "success", tryNumber: 3, xcom: { succeededOnTry: 3 } });
    expect(task("after").xcom).toBe(3);
  });

  describe("http_api against a local server", () => {
    let server: Server;
    const requests: Array<{ method: string; url: string; auth: string | undefined; runId: string | undefined; body: string }> = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
          requests.push({ method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization, runId: req.headers["x-run-id"] as string | undefined, body });
          if (req.url === "/health") return void res.end("ok");
          res.writeHead(201, { "content-type": "application/json" });
          res.end(JSON.stringify({ id: "order-7", ...(JSON.parse(body) as object) }));
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
    });

    it("GETs and POSTs through the connection; the response is the XCom", async () => {
      const port = (server.address() as AddressInfo).port;
      const { summary, task } = await test("http_api", [], { AIRLOCK_CONN_ORDERS_API: `http://shop:pw-123@127.0.0.1:${port}` });
      expect(summary.state).toBe("success");
      expect(task("health").xcom).toBe("ok");
      const created = task("create_order").xcom as { id: string; customer: string; day: string; items: string[] };
      expect(created).toMatchObject({ id: "order-7", customer: "c-42", items: ["apples", "pears"] });
      expect(created.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(task("confirm").xcom).toBe("order-7");
      const post = requests.find((r) => r.method === "POST");
      expect(post?.url).toBe(`/orders/${created.day}`);
      expect(post?.runId).toBe(summary.runId);
      expect(post?.auth).toBe(`Basic ${Buffer.from("shop:pw-123").toString("base64")}`);
    });
  });

  it("file_sensor: finds the file the test created, and soft-fails (skipped) without it", async () => {
    const inbox = path.join(project.dir, "inbox");
    mkdirSync(inbox);
    const today = new Date().toISOString().slice(0, 10);
    // A test run's logical date is "now"; write both candidates in case the day changes during the test.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    for (const day of [today, tomorrow]) writeFileSync(path.join(inbox, `orders-${day}.csv`), "a,1\nb,2\nc,3\n");
    const found = await test("file_sensor", ["--conf", JSON.stringify({ inbox })]);
    expect(found.summary.state).toBe("success");
    expect(found.task("wait_for_orders").xcom).toMatch(new RegExp(`^${inbox}/orders-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
    expect(found.task("count_orders").xcom).toBe("3");
    const missing = await test("file_sensor", ["--conf", JSON.stringify({ inbox: path.join(project.dir, "empty") })]);
    expect(missing.summary.state).toBe("success");
    expect(states(missing.summary)).toEqual({ wait_for_orders: "skipped", count_orders: "skipped" });
  });

  it("mapping: one instance per file, each with its own XCom and log, and the list pulled downstream", async () => {
    const { summary } = await test("mapping");
    expect(summary.state).toBe("success");
    const measure = summary.tasks.filter((t) => t.taskId === "measure") as Array<Summary["tasks"][number] & { mapIndex?: number }>;
    expect(measure.map((t) => [t.mapIndex, t.state, t.xcom])).toEqual([
      [0, "success", { file: "orders.csv", size: 1000 }], [1, "success", { file: "refunds.csv", size: 1100 }], [2, "success", { file: "stock.csv", size: 900 }],
    ]);
    expect(summary.tasks.filter((t) => t.taskId === "announce").map((t) => t.xcom)).toEqual(["file 0: orders.csv", "file 1: refunds.csv", "file 2: stock.csv"]);
    expect(summary.tasks.find((t) => t.taskId === "total")?.xcom).toBe(3000);
    const log = await project.cli(["tasks", "logs", "mapping", summary.runId, "measure", "--map-index", "1"]);
    expect(log.stdout).toContain("measuring refunds.csv (instance 1)");
  });

  it("deferrable: the sensors defer (no process), fire on the file and the time, and soft-fail without the file", async () => {
    const inbox = path.join(project.dir, "stock-inbox");
    mkdirSync(inbox);
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    for (const day of [today, tomorrow]) writeFileSync(path.join(inbox, `stock-${day}.csv`), "x\n");
    const found = await test("deferrable", ["--conf", JSON.stringify({ inbox })]);
    expect(found.summary.state).toBe("success");
    expect(found.task("settle").state).toBe("success");
    expect(found.task("report").xcom).toMatch(new RegExp(`^stock file: ${inbox}/stock-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
    const log = await project.cli(["tasks", "logs", "deferrable", found.summary.runId, "wait_for_stock"]);
    expect(log.stdout).toContain("deferred: waiting for file");
    expect(log.stdout).toContain("trigger fired: found");
    const missing = await test("deferrable", ["--conf", JSON.stringify({ inbox: path.join(project.dir, "no-stock") })]);
    expect(missing.summary.state).toBe("success");
    expect(states(missing.summary)).toEqual({ settle: "success", wait_for_stock: "skipped", report: "skipped" });
  });

  it("daily_batch: fans out per region and back in", async () => {
    const { summary, task } = await test("daily_batch");
    expect(summary.state).toBe("success");
    expect(task("merge").xcom).toMatchObject({ rows: 80 });
    expect(task("publish").xcom).toMatch(/^published \d{4}-\d{2}-\d{2}: 80 rows$/);
  });

  it("daily_report: the external sensor soft-fails when the other DAG has no run for the date", async () => {
    const { summary } = await test("daily_report");
    expect(summary.state).toBe("success");
    expect(states(summary)).toEqual({ wait_for_batch: "skipped", report: "skipped" });
  });

  it("under standalone, daily_batch, daily_report and run_controls catch up from startDate to endDate", async () => {
    const standalone = await project.startStandalone();
    try {
      const days = ["01", "02", "03", "04", "05", "06", "07"].map((d) => `2026-01-${d}T00:00:00.000Z`);
      for (const dagId of ["daily_batch", "daily_report", "run_controls"]) {
        const expected = dagId === "run_controls" ? days.slice(0, 3) : days;
        const runs = await waitUntil(`${expected.length} finished runs of ${dagId}`, async () => {
          const list = (await project.cliJson<{ items: Array<{ runType: string; state: string; logicalDate: string }> }>(["runs", "list", dagId, "--limit", "50", "--json"])).json.items
            .filter((r) => r.runType === "scheduled");
          return list.length === expected.length && list.every((r) => r.state === "success" || r.state === "failed") ? list : null;
        }, 120_000, 500);
        expect(runs.map((r) => r.logicalDate).sort()).toEqual(expected);
        expect(runs.every((r) => r.state === "success")).toBe(true);
      }
    } finally {
      await standalone.stop();
    }
  });

  it("params_schema: defaults, conf overrides, and a bad conf rejected with the param named", async () => {
    const def = await test("params_schema");
    expect(def.summary.state).toBe("success");
    expect(def.task("sample").xcom).toEqual({ rows: 10, region: "eu", dryRun: false, sample: ["eu-0", "eu-1", "eu-2"] });
    const conf = await test("params_schema", ["--conf", '{"rows": 2, "region": "us", "dryRun": true}']);
    expect(conf.task("sample").xcom).toEqual({ rows: 2, region: "us", dryRun: true, sample: ["us-0", "us-1"] });
    const bad = await project.cli(["dags", "test", "params_schema", "--conf", '{"rows": 5000}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("conf.rows must be <= 1000");
  });

  it("task_groups: group ids prefix their tasks, groups connect as one node, XComs cross groups", async () => {
    const { summary, task } = await test("task_groups");
    expect(summary.state).toBe("success");
    expect(summary.tasks.map((t) => t.taskId)).toEqual(expect.arrayContaining(["extract.orders", "extract.customers", "load.stage", "load.tables.orders", "load.tables.customers"]));
    expect(task("load.stage").xcom).toEqual({ orders: 2, customers: 2, total: 42 });
    expect(task("report").xcom).toBe("loaded 2 orders, loaded 2 customers");
  });

  it("trigger_dag: the orchestrator creates a run of triggered_report with the rendered conf", async () => {
    const { summary, task } = await test("trigger_dag");
    expect(summary.state).toBe("success");
    const xcom = task("start_report").xcom as { dagId: string; runId: string; state: string };
    expect(xcom).toMatchObject({ dagId: "triggered_report", state: "queued" });
    expect(task("start_report").isolation).toBe("inline");
    const runs = (await project.cliJson<{ items: Array<{ runId: string; conf: Record<string, unknown> }> }>(["runs", "list", "triggered_report", "--json"])).json.items;
    expect(runs.find((r) => r.runId === xcom.runId)?.conf).toMatchObject({ region: "eu", rows: "42" });
  });

  it("setup_teardown: the workspace is removed after the work, also when the work fails", async () => {
    const root = path.join(project.dir, "workspaces");
    const ok = await test("setup_teardown", ["--conf", JSON.stringify({ root })]);
    expect(ok.summary.state).toBe("success");
    expect(ok.task("crunch").xcom).toBe("15");
    const failed = await test("setup_teardown", ["--conf", JSON.stringify({ root, fail: true })]);
    expect(failed.summary.state).toBe("failed");
    expect(states(failed.summary)).toEqual({ create_workspace: "success", fetch: "success", crunch: "failed", remove_workspace: "success" });
  });

  it("run_controls: a test run is not held by dependsOnPast", async () => {
    const { summary, task } = await test("run_controls");
    expect(summary.state).toBe("success");
    expect(task("load").xcom).toMatch(/^loading \d{4}-\d{2}-\d{2} after \d{4}-\d{2}-\d{2}$/);
  });

  describe("alerts against a local webhook receiver", () => {
    let server: Server;
    const posts: Array<{ url: string; body: string }> = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
          posts.push({ url: req.url ?? "", body });
          res.end("ok");
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
    });

    it("alerts: a webhook on success of a task and on failure of the run; the retry callback runs in the task's log", async () => {
      const env = { AIRLOCK_CONN_ALERTS: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
      const ok = await test("alerts", [], env);
      expect(ok.summary.state).toBe("success");
      expect(posts.map((p) => p.body)).toEqual([expect.stringMatching(/^report of alerts done for \d{4}-\d{2}-\d{2}$/)]);
      posts.length = 0;
      const failed = await test("alerts", ["--conf", '{"fail": true}'], env);
      expect(failed.summary.state).toBe("failed");
      expect(posts).toHaveLength(1);
      expect(JSON.parse(posts[0]?.body ?? "{}").text).toMatch(/^alerts failed on \d{4}-\d{2}-\d{2}: BashCommandError/);
      const log = await project.cli(["tasks", "logs", "alerts", failed.summary.runId, "load", "--try", "1"]);
      expect(log.stdout).toContain("retrying load after try 1: bash command failed with exit code 1");
    });
  });
});
