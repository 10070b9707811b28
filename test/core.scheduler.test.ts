/**
 * The scheduler, through a real `airlock standalone` and the CLI: catchup creates every missed interval (logical
 * date = start of the interval) within maxActiveRuns; catchup false creates only the latest; an external task
 * sensor waits for another DAG's task of the same logical date; pause/unpause; manual runs with conf overriding
 * params, and a conf that fails the params schema rejected with exit 2; `dags backfill` creates the right runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, waitUntil, type Project, type Standalone } from "./helpers/project.js";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const today = Math.floor(Date.now() / DAY) * DAY;
const iso = (ms: number) => new Date(ms).toISOString();
const date = (ms: number) => iso(ms).slice(0, 10);
// Whole hours, ending an hour before now, so an hour passing during the test adds no run.
const hourNow = Math.floor(Date.now() / HOUR) * HOUR;

const DAGS: Record<string, string> = {
  "caught_up.ts": `import { bash, dag } from "airlock";
export default dag({ id: "caught_up", schedule: "@daily", startDate: "${date(today - 4 * DAY)}", catchup: true, maxActiveRuns: 1 }, () => {
  const extract = bash({ id: "extract", command: "sleep 0.3; echo {{ ds }}" });
  const report = bash({ id: "report", command: "echo '{{ data_interval_start }}..{{ data_interval_end }}'" });
  extract.then(report);
});
`,
  "not_caught_up.ts": `import { bash, dag } from "airlock";
export default dag({ id: "not_caught_up", schedule: "@daily", startDate: "${date(today - 4 * DAY)}", catchup: false }, () => {
  bash({ id: "only", command: "echo {{ ds }}" });
});
`,
  "waits.ts": `import { bash, dag, externalTaskSensor } from "airlock";
export default dag({ id: "waits_for_report", schedule: "@daily", startDate: "${date(today - 2 * DAY)}", catchup: true }, () => {
  const wait = externalTaskSensor({ id: "wait", externalDagId: "caught_up", externalTaskId: "report", pokeInterval: "300ms", timeout: "2m" });
  wait.then(bash({ id: "after", command: "echo after {{ ds }}" }));
});
`,
  "hourly.ts": `import { bash, dag } from "airlock";
export default dag({
  id: "paused_hourly", schedule: "@hourly", startDate: "${iso(hourNow - 3 * HOUR).slice(0, 19)}", endDate: "${iso(hourNow - HOUR).slice(0, 19)}",
  catchup: true, pausedOnCreation: true,
}, () => {
  bash({ id: "tick", command: "echo {{ ts }}" });
});
`,
  "with_params.ts": `import { bash, dag } from "airlock";
export default dag({
  id: "with_params",
  params: { name: "world", count: 1 },
  paramsSchema: { type: "object", properties: { name: { type: "string" }, count: { type: "integer", minimum: 1, maximum: 5 } } },
}, () => {
  bash({ id: "greet", command: "echo hello {{ params.name }} {{ params.count }} {{ conf.name | default('-') }}" });
});
`,
  "backfilled.ts": `import { bash, dag } from "airlock";
export default dag({ id: "backfilled", schedule: "@daily", startDate: "2026-01-01", catchup: false, pausedOnCreation: true }, () => {
  bash({ id: "day", command: "echo {{ ds }} {{ data_interval_end }}" });
});
`,
};

interface Run {
  runId: string;
  runType: string;
  state: string;
  logicalDate: string;
  dataIntervalStart: string;
  dataIntervalEnd: string;
  startDate: string | null;
  endDate: string | null;
}

let project: Project;
let standalone: Standalone;

async function runs(dagId: string): Promise<Run[]> {
  const r = await project.cliJson<{ items: Run[] }>(["runs", "list", dagId, "--limit", "100", "--json"]);
  return r.json.items.sort((a, b) => a.logicalDate.localeCompare(b.logicalDate));
}

async function states(dagId: string, runId: string): Promise<{ state: string; tasks: Array<{ taskId: string; state: string; xcom: unknown }> }> {
  return (await project.cliJson(["tasks", "states", dagId, runId, "--json"])).json;
}

beforeAll(async () => {
  project = createProject({ dags: DAGS });
  standalone = await project.startStandalone();
});
afterAll(async () => {
  await standalone?.stop();
  await project.cleanup();
});

describe("scheduler", () => {
  it("catchup creates a run for every missed interval, logical date = interval start, within maxActiveRuns", async () => {
    const list = await waitUntil("4 successful runs of caught_up", async () => {
      const r = await runs("caught_up");
      return r.length === 4 && r.every((x) => x.state === "success") ? r : null;
    }, 120_000, 500);
    expect(list.map((r) => r.logicalDate)).toEqual([4, 3, 2, 1].map((n) => iso(today - n * DAY)));
    for (const r of list) {
      expect(r.runType).toBe("scheduled");
      expect(r.runId).toBe(`scheduled__caught_up__${r.logicalDate}`);
      expect(r.dataIntervalStart).toBe(r.logicalDate);
      expect(r.dataIntervalEnd).toBe(iso(Date.parse(r.logicalDate) + DAY));
    }
    // maxActiveRuns: 1 — each run started after the one before it ended.
    for (let i = 1; i < list.length; i++) expect(Date.parse(list[i]!.startDate!)).toBeGreaterThanOrEqual(Date.parse(list[i - 1]!.endDate!));
    const first = await states("caught_up", list[0]!.runId);
    expect(first.tasks.find((t) => t.taskId === "extract")?.xcom).toBe(date(today - 4 * DAY));
    expect(first.tasks.find((t) => t.taskId === "report")?.xcom).toBe(`${iso(today - 4 * DAY)}..${iso(today - 3 * DAY)}`);
  });

  it("without catchup only the latest complete interval runs", async () => {
    const list = await waitUntil("a successful run of not_caught_up", async () => {
      const r = await runs("not_caught_up");
      return r.some((x) => x.state === "success") ? r : null;
    }, 60_000, 500);
    expect(list.map((r) => r.logicalDate)).toEqual([iso(today - DAY)]);
  });

  it("an external task sensor waits for the other DAG's task of the same logical date", async () => {
    const list = await waitUntil("2 successful runs of waits_for_report", async () => {
      const r = await runs("waits_for_report");
      return r.length === 2 && r.every((x) => x.state === "success") ? r : null;
    }, 120_000, 500);
    for (const r of list) {
      const s = await states("waits_for_report", r.runId);
      expect(s.tasks.find((t) => t.taskId === "wait")).toMatchObject({ state: "success", xcom: { runId: `scheduled__caught_up__${r.logicalDate}`, state: "success" } });
      expect(s.tasks.find((t) => t.taskId === "after")?.state).toBe("success");
    }
  });

  it("a paused DAG gets no runs; unpaused, it catches up; a manual run of a paused DAG waits", async () => {
    // By now the scheduler has created and finished runs of the other DAGs, but none of this paused one.
    await waitUntil("the other DAGs' runs", async () => (await runs("not_caught_up")).length > 0);
    expect(await runs("paused_hourly")).toEqual([]);
    const listed = await project.cliJson<{ items: Array<{ dagId: string; isPaused: boolean }> }>(["dags", "list", "--json"]);
    expect(listed.json.items.find((d) => d.dagId === "paused_hourly")?.isPaused).toBe(true);

    expect((await project.cli(["dags", "unpause", "paused_hourly"])).stdout).toContain("paused_hourly unpaused");
    const hourly = await waitUntil("3 hourly runs", async () => {
      const r = await runs("paused_hourly");
      return r.length === 3 && r.every((x) => x.state === "success") ? r : null;
    }, 120_000, 500);
    expect(hourly.map((r) => r.logicalDate)).toEqual([3, 2, 1].map((n) => iso(hourNow - n * HOUR)));

    expect((await project.cli(["dags", "pause", "paused_hourly"])).code).toBe(0);
    const held = (await project.cli(["dags", "trigger", "paused_hourly"])).stdout.trim();
    const other = await project.cliJson(["dags", "trigger", "with_params", "--wait", "--json"]);
    expect(other.json.state).toBe("success");
    // The unpaused DAG's run started and finished after this one was triggered; this one has not started.
    expect((await runs("paused_hourly")).find((r) => r.runId === held)?.state).toBe("queued");
    await project.cli(["dags", "unpause", "paused_hourly"]);
    await waitUntil("the held run to succeed", async () => (await runs("paused_hourly")).find((r) => r.runId === held)?.state === "success", 60_000, 300);
  });

  it("a manual run's conf overrides params; a conf that fails the schema is rejected with exit 2", async () => {
    const plain = await project.cliJson(["dags", "trigger", "with_params", "--wait", "--json"]);
    expect(plain.code).toBe(0);
    expect(plain.json.tasks[0]).toMatchObject({ taskId: "greet", state: "success", xcom: "hello world 1 -" });
    const conf = await project.cliJson(["dags", "trigger", "with_params", "--conf", '{"name": "airlock", "count": 3}', "--wait", "--json"]);
    expect(conf.json.tasks[0].xcom).toBe("hello airlock 3 airlock");
    const r = (await runs("with_params")).find((x) => x.runId === conf.json.runId);
    expect(r?.runType).toBe("manual");

    const before = (await runs("with_params")).length;
    const tooMany = await project.cli(["dags", "trigger", "with_params", "--conf", '{"count": 9}']);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toContain('params of DAG "with_params" are invalid: conf.count must be <= 5');
    const wrongType = await project.cli(["dags", "trigger", "with_params", "--conf", '{"count": "three"}', "--json"]);
    expect(wrongType.code).toBe(2);
    expect(JSON.parse(wrongType.stderr).error.message).toContain("conf.count must be integer");
    expect((await runs("with_params")).length).toBe(before);
  });

  it("dags backfill creates and runs one run per interval in the range, even for a paused DAG", async () => {
    const r = await project.cliJson(["dags", "backfill", "backfilled", "--start", "2026-01-01", "--end", "2026-01-03", "--json"], { timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    expect(r.json.runs).toEqual(["01", "02", "03"].map((d) => ({ runId: `backfill__backfilled__2026-01-${d}T00:00:00.000Z`, logicalDate: `2026-01-${d}T00:00:00.000Z`, state: "success" })));
    const list = await runs("backfilled");
    expect(list.map((x) => x.runType)).toEqual(["backfill", "backfill", "backfill"]);
    const s = await states("backfilled", "backfill__backfilled__2026-01-02T00:00:00.000Z");
    expect(s.tasks[0]?.xcom).toBe("2026-01-02 2026-01-03T00:00:00.000Z");
  });
});
