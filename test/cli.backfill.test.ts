/**
 * `airlock dags backfill` without a running scheduler: it creates one run per interval of the range (logical date
 * = interval start), drives exactly those runs to their end, schedules nothing else, and reuses its runs when
 * asked again.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const dagSource = (id: string) => `import { bash, dag } from "airlock";
export default dag({ id: "${id}", schedule: "0 6 * * *", timezone: "Europe/Oslo", startDate: "2026-01-01", catchup: true }, () => {
  bash({ id: "day", command: "echo {{ ds }} {{ data_interval_start }}" });
});
`;

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "one.ts": dagSource("one"), "two.ts": dagSource("two") } });
});
afterAll(async () => {
  await project.cleanup();
});

type Runs = { items: Array<{ runId: string; runType: string; state: string; logicalDate: string }> };

it("creates and runs one run per interval, and nothing else", async () => {
  const r = await project.cliJson(["dags", "backfill", "one", "--start", "2026-03-01", "--end", "2026-03-03T12:00:00+01:00", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  // 06:00 in Oslo is 05:00 UTC in winter.
  const expected = ["01", "02", "03"].map((d) => ({ runId: `backfill__one__2026-03-${d}T05:00:00.000Z`, logicalDate: `2026-03-${d}T05:00:00.000Z`, state: "success" }));
  expect(r.json.runs).toEqual(expected);
  const states = await project.cliJson(["tasks", "states", "one", expected[1]!.runId, "--json"]);
  expect(states.json.tasks[0].xcom).toBe("2026-03-02 2026-03-02T05:00:00.000Z");

  const one = (await project.cliJson<Runs>(["runs", "list", "one", "--json"])).json.items;
  expect(one.map((x) => x.runType)).toEqual(["backfill", "backfill", "backfill"]);
  expect((await project.cliJson<Runs>(["runs", "list", "two", "--json"])).json.items).toEqual([]);

  const again = await project.cliJson(["dags", "backfill", "one", "--start", "2026-03-02", "--end", "2026-03-04T12:00:00Z", "--json"]);
  expect(again.code).toBe(0);
  expect(again.json.runs.map((x: { runId: string }) => x.runId)).toEqual([expected[1]!.runId, expected[2]!.runId, "backfill__one__2026-03-04T05:00:00.000Z"]);
  expect((await project.cliJson<Runs>(["runs", "list", "one", "--json"])).json.items).toHaveLength(4);
});
