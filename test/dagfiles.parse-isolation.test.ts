/**
 * A DAG file whose import never ends does not hold up `standalone`: its API answers while that file is still
 * being parsed (the parse runs in a child process and the server does not wait for it to start).
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

let project: Project;

beforeAll(() => {
  project = createProject({
    dags: {
      "ok.ts": `import { bash, dag } from "airlock";\nexport default dag({ id: "ok" }, () => { bash({ id: "t", command: "echo ok" }); });\n`,
      "forever.ts": `import { dag } from "airlock";\nwhile (true) { /* never returns */ }\nexport default dag({ id: "forever" }, () => {});\n`,
    },
    config: { scheduler: { parseTimeoutMs: 120_000, pollIntervalMs: 250, parseIntervalMs: 500 } },
  });
});
afterAll(async () => {
  await project.cleanup();
});

/** The TCP port a process listens on (from `ss`), once it listens. */
async function listeningPort(pid: number): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const out = execFileSync("ss", ["-ltnpH"]).toString();
    const line = out.split("\n").find((l) => l.includes(`pid=${pid},`));
    const m = line ? /:(\d+)\s/.exec(line.split(/\s+/).slice(3, 4).join(" ") + " ") : null;
    if (m?.[1]) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`process ${pid} never listened`);
}

it("answers /api/v1/health while a DAG file loops forever at import", async () => {
  const p = project.spawnCli(["standalone", "--port", "0"]);
  const port = await listeningPort(p.child.pid as number);
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/health`, { signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
  }
  // The looping file is still being parsed: the first pass (120 s timeout) has not ended.
  expect(p.stdout()).not.toContain("import error(s)");
  p.child.kill("SIGKILL");
  await p.done;
}, 120_000);
