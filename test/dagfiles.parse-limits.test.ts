/**
 * DAG-file parse children are confined: a file that allocates 2 GB of Buffers at import (which V8's heap flag does
 * not cover) becomes an import error naming the file and the memory limit, and files that loop forever at import
 * hold up neither the parsing and scheduling of the other files nor a file added later.
 */
import { afterAll, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const OK = (id: string) => `import { bash, dag } from "airlock";
export default dag({ id: "${id}", schedule: "@once", startDate: "2026-01-01" }, () => { bash({ id: "t", command: "echo ran-${id}" }); });
`;
const LOOP = `import { dag } from "airlock";\nwhile (true) { /* never returns */ }\nexport default dag({ id: "loop" }, () => {});\n`;
const HOG = `import { dag } from "airlock";
const keep: Buffer[] = [];
for (let i = 0; i < 2048; i++) keep.push(Buffer.alloc(1 << 20, 1));
export default dag({ id: "hog" }, () => {});
`;

const projects: Project[] = [];
afterAll(async () => {
  for (const p of projects) await p.cleanup();
});

interface ListJson {
  items: Array<{ dagId: string }>;
  importErrors: Array<{ fileloc: string; message: string }>;
}

it("a file allocating 2 GB of Buffers at import is an import error naming the file and the limit", async () => {
  const project = createProject({ dags: { "hog.ts": HOG, "ok.ts": OK("ok") } });
  projects.push(project);
  const r = await project.cli(["dags", "list", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  const list = JSON.parse(r.stdout) as ListJson;
  expect(list.items.map((d) => d.dagId)).toEqual(["ok"]);
  expect(list.importErrors).toEqual([{ fileloc: "dags/hog.ts", message: expect.stringMatching(/^parsing hog\.ts needed more than 1024 MiB of memory and was stopped: .*scheduler\.parseMemoryMiB/) }]);
}, 120_000);

it("files looping forever at import delay neither other files' parsing and scheduling nor a file added later", async () => {
  const project = createProject({
    dags: { "a_loop.ts": LOOP, "b_loop.ts": LOOP, "ok.ts": OK("ok") },
    // Longer than this test may take: the loops are still being parsed when it ends.
    config: { scheduler: { parseTimeoutMs: 300_000, parseIntervalMs: 500, pollIntervalMs: 250, dagsArePausedAtCreation: false } },
  });
  projects.push(project);
  const server = await project.startStandalone();
  const api = async <T>(p: string) => (await (await fetch(`${server.url}/api/v1${p}`, { signal: AbortSignal.timeout(20_000) })).json()) as T;
  const until = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 600; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`gave up waiting for ${what}:\n${server.output()}`);
  };
  const runsOf = async (id: string) => (await api<{ runs?: Array<{ state: string }> }>(`/dags/${id}/runs`).catch(() => ({ runs: [] }))).runs ?? [];
  await until("ok's @once run to succeed", async () => (await runsOf("ok")).some((r) => r.state === "success"));
  project.writeDag("late.ts", OK("late"));
  await until("late's @once run to succeed", async () => (await runsOf("late")).some((r) => r.state === "success"));
  // Both loops are still being parsed: neither has become an import error yet.
  expect((await api<ListJson>("/importErrors")).importErrors).toEqual([]);
  await server.stop();
}, 120_000);
