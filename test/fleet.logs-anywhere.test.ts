/**
 * Logs from anywhere: two Airlock installations (separate project folders and state directories) on one Postgres.
 * A runs the tries; B never runs anything. B's CLI follows a running try's log live and shows the finished log,
 * and still shows all of it after A was killed and A's state directory (its log files) deleted.
 */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { loadConfig } from "../src/config/config.js";
import { createContext } from "../src/core/context.js";
import { readLogChunk } from "../src/core/logs.js";
import { createProject, type Project } from "./helpers/project.js";
import { createTestDatabase, type TestDatabase } from "./helpers/postgres.js";

/** The task prints two lines, then waits for the test's go-ahead file before it ends. */
const dag = (go: string) => `import { bash, dag } from "airlock";
export default dag({ id: "talky" }, () => {
  bash({ id: "speak", command: "echo 'line 1'; echo 'line 2'; while [ ! -e ${go} ]; do sleep 0.2; done; echo 'line 3'; echo done" });
});
`;

let db: TestDatabase | undefined;
const projects: Project[] = [];
afterAll(async () => {
  for (const p of projects) await p.cleanup();
  await db?.drop();
});

it("follows and shows a try of another installation, and keeps its log after that installation is gone", async () => {
  db = await createTestDatabase();
  const b = createProject({ config: { store: db.url } });
  const go = path.join(b.dir, "go");
  const a = createProject({ config: { store: db.url }, dags: { "talky.ts": dag(go) } });
  projects.push(a, b);
  const standalone = await a.startStandalone();
  const trigger = await a.cliJson(["dags", "trigger", "talky", "--json"]);
  expect(trigger.code, trigger.stderr).toBe(0);
  const runId = trigger.json.runId as string;

  // Live: the first lines reach B while the task still runs (it cannot end before the go-ahead).
  const follow = b.spawnCli(["tasks", "logs", "talky", runId, "speak", "--follow"]);
  await follow.waitFor(/line 2/, 90_000);
  expect(follow.stdout()).not.toMatch(/line 3|done/);
  writeFileSync(go, "");
  const followed = await follow.done;
  expect(followed.code, followed.stderr).toBe(0);
  expect(followed.stdout).toMatch(/line 1\nline 2\nline 3\ndone\n/);
  expect(followed.stdout).toMatch(/try 1 succeeded/);

  // The try ran on A: its log file lives in A's state directory, never in B's.
  await standalone.kill9();
  rmSync(a.stateDir, { recursive: true, force: true });
  const shown = await b.cliJson(["tasks", "logs", "talky", runId, "speak", "--json"]);
  expect(shown.code, shown.stderr).toBe(0);
  expect(shown.json.log).toBe(followed.stdout);

  // The shipped copy also says when each line was written: the first mark dates byte 0, and the marks go forward.
  const ctx = await createContext(await loadConfig({ cwd: b.dir, env: b.env }));
  try {
    const chunk = await readLogChunk(ctx, { runId, taskId: "speak", tryNumber: 1 }, 0, 1 << 20);
    expect(chunk.text).toBe(followed.stdout);
    expect(chunk.times[0]?.offset).toBe(0);
    const at = chunk.times.map((m) => Date.parse(m.at));
    expect(at.every(Number.isFinite)).toBe(true);
    expect([...at].sort((x, y) => x - y)).toEqual(at);
    // "line 3" came after the go-ahead, later than "line 1": it lies under a later mark.
    const line3 = Buffer.byteLength(followed.stdout.slice(0, followed.stdout.indexOf("line 3")));
    const markOf = (offset: number) => chunk.times.filter((m) => m.offset <= offset).at(-1)?.at;
    expect(Date.parse(markOf(line3) ?? "")).toBeGreaterThan(Date.parse(markOf(0) ?? ""));
  } finally {
    await ctx.store.close();
  }
}, 200_000);
