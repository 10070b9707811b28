/**
 * Crash safety: `kill -9` of `airlock standalone` while tasks run, then a restart. The tasks keep running through
 * the crash and are adopted by the new instance; a task that ended while no orchestrator ran still gets its
 * result; every task ends in the right state after exactly one try (marker files count the tries); logs are
 * complete; and no process of the killed instance is left running afterwards.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, processesNamed, projectProcesses, waitUntil, type Project, type Standalone } from "./helpers/project.js";

const M = `airlock-crash-${randomBytes(4).toString("hex")}`;
let project: Project;
let first: Standalone | undefined;
let second: Standalone | undefined;
const file = (name: string) => path.join(project.dir, name);
const lines = (name: string) => (existsSync(file(name)) ? readFileSync(file(name), "utf8").trim().split("\n").filter(Boolean) : []);

beforeAll(() => {
  project = createProject();
  const waitFor = (name: string) => `while [ ! -e ${file(name)} ]; do sleep 0.05; done`;
  // Each try appends a line to its marker file first; `exec -a` names the processes so they can be found.
  const task = (id: string, extra = "") => `bash({ id: "${id}", retries: 2, retryDelay: "100ms", command: ${JSON.stringify(
    [`echo start-${id}`, `echo try >> ${file(`marks-${id}`)}`, extra, `bash -c 'exec -a ${M}-${id} bash -c "${waitFor(`gate-${id}`)}"' & wait`, `echo end-${id}`].filter(Boolean).join("\n"),
  )} })`;
  project.writeDag("crashy.ts", `import { bash, dag } from "airlock";
export default dag({ id: "crashy" }, () => {
  const a = ${task("a", `(setsid bash -c 'exec -a ${M}-daemon sleep 600' &)`)};
  const b = ${task("b")};
  const short = ${task("short")};
  const c = bash({ id: "c", command: "echo try >> ${file("marks-c")}; echo c-done" });
  a.then(c);
  b.then(c);
  short.then(c);
});
`);
});
afterAll(async () => {
  await first?.kill9();
  await second?.stop();
  await project.cleanup();
});

it("recovers from kill -9 with every task run once, complete logs and no orphans", async () => {
  first = await project.startStandalone();
  const runId = (await project.cli(["dags", "trigger", "crashy"])).stdout.trim();
  await waitUntil("a, b and short to be running", () => ["a", "b", "short"].every((t) => lines(`marks-${t}`).length === 1), 60_000, 50);
  await waitUntil("the daemon of a", () => processesNamed(`${M}-daemon`).length === 1);

  await first.kill9();
  // The tries outlive their orchestrator.
  const survivors = projectProcesses(project.dir);
  expect(survivors.length).toBeGreaterThan(0);
  expect(survivors).not.toContain(first.pid);
  // "short" ends while no orchestrator runs: its result must not be lost.
  writeFileSync(file("gate-short"), "");
  await waitUntil("short's try to end", () => processesNamed(`${M}-short`).length === 0, 30_000, 50);

  second = await project.startStandalone();
  expect(second.output()).toContain("airlock standalone running");
  writeFileSync(file("gate-a"), "");
  writeFileSync(file("gate-b"), "");
  const done = await waitUntil("the run to end", async () => {
    const s = await project.cliJson(["tasks", "states", "crashy", runId, "--json"]);
    return s.json.state === "success" || s.json.state === "failed" ? s.json : null;
  }, 90_000, 250);

  expect(done.state).toBe("success");
  const byId = Object.fromEntries((done.tasks as Array<{ taskId: string; state: string; tryNumber: number; xcom: unknown }>).map((t) => [t.taskId, t]));
  for (const id of ["a", "b", "short"]) expect(byId[id]).toMatchObject({ state: "success", tryNumber: 1, xcom: `end-${id}` });
  expect(byId.c).toMatchObject({ state: "success", tryNumber: 1, xcom: "c-done" });
  // One try each, never two at once.
  for (const id of ["a", "b", "short", "c"]) expect(lines(`marks-${id}`)).toEqual(["try"]);

  for (const id of ["a", "b", "short"]) {
    const log = (await project.cli(["tasks", "logs", "crashy", runId, id])).stdout;
    // The adopting orchestrator continues the log where the killed one stopped (its pump progress is saved):
    // every line once, the adoption noted where it happened.
    const adopted = `\\[airlock\\] crashy\\.${id} try 1 on process \\(adopted after an orchestrator restart\\)\\n`;
    // Whether the killed one had pumped start-<id> yet depends on timing; either way it is there once.
    expect(log).toMatch(new RegExp(`^\\[airlock\\] crashy\\.${id} try 1 on process\\n(?:start-${id}\\n${adopted}|${adopted}start-${id}\\n)end-${id}\\n\\[airlock\\] try 1 succeeded\\n$`));
  }

  // Nothing of the killed instance's tries is left: no task process, no daemon, none of its warm runners; only the
  // new standalone remains, with the warm runners it keeps waiting (its children).
  await waitUntil("no leftover processes", () => processesNamed(M).length === 0 && projectProcesses(project.dir).every((pid) => pid === second?.pid || parentOf(pid) === second?.pid), 10_000);
});

/** The parent pid of a process (0 when it is gone). */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}
