/**
 * Writes from other processes wake the running orchestrator: with the scheduler's and executor's poll interval at
 * ten minutes, `dags trigger --wait` from a separate CLI process still runs to its end, on SQLite (the wake file)
 * and on Postgres (LISTEN/NOTIFY), and on Postgres again after the listening connection was killed.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createProject, type Project, type Standalone } from "./helpers/project.js";
import { createTestDatabase, withPgClient, type TestDatabase } from "./helpers/postgres.js";

const DAG = `import { bash, dag } from "airlock";
export default dag({ id: "one" }, () => {
  bash({ id: "hello", command: "echo hello from one" });
});
`;
const NO_POLL = { scheduler: { pollIntervalMs: 600_000 } };

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function started(config: Record<string, unknown>): Promise<{ project: Project; standalone: Standalone }> {
  const project = createProject({ config: { ...config, ...NO_POLL }, dags: { "one.ts": DAG } });
  cleanups.push(() => project.cleanup());
  const standalone = await project.startStandalone();
  cleanups.push(() => standalone.stop());
  return { project, standalone };
}

async function triggerAndWait(project: Project): Promise<void> {
  const r = await project.cliJson(["dags", "trigger", "one", "--wait", "--json"], { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  expect(r.json).toMatchObject({ dagId: "one", state: "success", tasks: [{ taskId: "hello", state: "success" }] });
}

describe("SQLite standalone", () => {
  it("runs a run triggered by another process without waiting for a poll", async () => {
    const { project } = await started({});
    await triggerAndWait(project);
    await triggerAndWait(project);
  }, 200_000);
});

describe("Postgres standalone", () => {
  let db: TestDatabase;
  it("runs a run triggered by another process, also after its listening connection was killed", async () => {
    db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const { project } = await started({ store: db.url });
    await triggerAndWait(project);
    const killed = await withPgClient(db.url, async (c) => (await c.query(
      "select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and query ilike 'listen %'", [db.name],
    )).rows.length);
    expect(killed).toBeGreaterThan(0);
    await triggerAndWait(project);
  }, 200_000);
});
