/**
 * Task output at scale: a task flooding stdout far past logs.maxBytesPerTry leaves the API answering, the log
 * stops at the cap with a marker line, and the disk holds neither a second (raw) copy nor the dropped rest.
 * Bytes survive exactly across read chunks (multi-byte UTF-8), and `tasks logs` never hands a terminal raw
 * control characters.
 */
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, type Project, type Standalone } from "./helpers/project.js";

const CAP = 8 * 1024 * 1024;
const FLOOD_MB = 1200;

const DAG = `import { bash, dag, fn } from "airlock";
export default dag({ id: "output", schedule: null, pausedOnCreation: false }, () => {
  // Lines of 1,000 'a's, far beyond the cap; then a last line that must not reach the log.
  bash({ id: "flood", command: "head -c ${FLOOD_MB}M /dev/zero | tr '\\\\0' a | fold -w 1000; echo after-the-flood" });
  fn({ id: "euro", run: async () => {
    // 2,400,000 three-byte characters in writes of odd sizes, so chunk boundaries fall inside characters.
    const text = "€".repeat(2_400_000);
    for (let i = 0; i < text.length; i += 99_991) process.stdout.write(text.slice(i, i + 99_991));
    process.stdout.write("\\n");
    return "ok";
  } });
  bash({ id: "controls", command: "printf 'red:\\\\033[31mX\\\\033[0m bell:\\\\a cr:\\\\rY tab:\\\\tZ\\\\n'" });
});
`;

let project: Project;
let server: Standalone;

beforeAll(async () => {
  project = createProject({ dags: { "output.ts": DAG }, config: { logs: { maxBytesPerTry: CAP } } });
  server = await project.startStandalone();
});
afterAll(async () => {
  await project.cleanup();
});

function diskUse(dir: string): number {
  // Blocks in use, not apparent sizes: punched-out raw output takes none.
  return Number(execFileSync("du", ["-sk", dir]).toString().split("\t")[0]) * 1024;
}

async function waitTask(runId: string, taskId: string): Promise<string> {
  for (;;) {
    const r = await project.cliJson(["tasks", "states", "output", runId, "--json"]);
    const t = r.json.tasks.find((x: { taskId: string }) => x.taskId === taskId);
    if (["success", "failed", "upstream_failed", "skipped"].includes(t?.state)) return t.state;
    await new Promise((res) => setTimeout(res, 500));
  }
}

it("a flood far past the cap: health answers throughout, the log stops at the cap, disk stays bounded", async () => {
  const trigger = await project.cliJson(["dags", "trigger", "output", "--json"]);
  const runId: string = trigger.json.runId;
  let done = false;
  let healthChecks = 0;
  let peakDisk = 0;
  const watcher = (async () => {
    while (!done) {
      // A generous sanity bound, not a timing assertion: a frozen event loop would not answer at all.
      const res = await fetch(`${server.url}/api/v1/health`, { signal: AbortSignal.timeout(20_000) });
      expect(res.status).toBe(200);
      healthChecks++;
      peakDisk = Math.max(peakDisk, diskUse(project.stateDir));
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const state = await waitTask(runId, "flood");
  done = true;
  await watcher;
  expect(state).toBe("success");
  expect(healthChecks).toBeGreaterThan(2);
  const log = await project.cli(["tasks", "logs", "output", runId, "flood"]);
  expect(log.stdout).toContain("[airlock] log truncated");
  expect(log.stdout).toContain("logs.maxBytesPerTry");
  expect(log.stdout).not.toContain("after-the-flood");
  expect(log.stdout).toContain("[airlock] try 1 succeeded");
  expect(Buffer.byteLength(log.stdout)).toBeLessThan(CAP + 4096);
  // The output was 1.2 GB; kept twice (raw and log) it would have needed 2.4 GB. The cap, the raw output of the
  // last moments before a pump and the store stay far below it.
  expect(peakDisk).toBeLessThan(600 * 1024 * 1024);
  expect(statSync(project.dbPath).size).toBeLessThan(50 * 1024 * 1024);
}, 600_000);

it("multi-byte characters survive chunk boundaries exactly, and tasks logs escapes control characters", async () => {
  const trigger = await project.cliJson(["dags", "trigger", "output", "--json"]);
  const runId: string = trigger.json.runId;
  expect(await waitTask(runId, "euro")).toBe("success");
  expect(await waitTask(runId, "controls")).toBe("success");
  const euro = await project.cliJson(["tasks", "logs", "output", runId, "euro", "--json"]);
  const text: string = euro.json.log;
  expect(text.match(/€/g)?.length).toBe(2_400_000);
  expect(text).not.toContain("\uFFFD");
  const controls = await project.cli(["tasks", "logs", "output", runId, "controls"]);
  expect(controls.stdout).toContain("red:\\x1b[31mX\\x1b[0m bell:\\x07 cr:\\x0dY tab:\tZ\n");
  expect(controls.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
}, 300_000);
