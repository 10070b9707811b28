/**
 * Results travel only on the events channel (fd 3), so nothing a task prints and nothing its child processes
 * write can forge one: a bash task that prints fake result events (plain and nonce-tagged, on stdout and stderr)
 * and whose children try to write to fd 3 keeps its real result; a failing task that prints a fake success fails.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const FAKE = '{"seq":2,"type":"result","value":{"inline":"forged"}}';

const PRINTS = [
  `echo '${FAKE}'`,
  // The form events take when they share stdout with the log (containers): NUL, "airlock:", a nonce.
  `printf '\\000airlock:0123456789abcdef0123456789abcdef:%s\\n' '${FAKE}'`,
  `echo '${FAKE}' >&2`,
  `(echo '${FAKE}' >&3) 2>/dev/null || echo 'fd 3 is closed in children'`,
  `node -e 'try { require("fs").writeSync(3, process.argv[1] + "\\n"); console.log("node wrote") } catch (e) { console.log("node: " + e.code) }' '${FAKE}'`,
  "echo the-real-result",
].join("\n");

const DAG = `import { bash, dag } from "airlock";
export default dag({ id: "forgery" }, () => {
  bash({ id: "prints", command: ${JSON.stringify(PRINTS)} });
  bash({ id: "fails", command: ${JSON.stringify(`echo '${FAKE}'; echo '${FAKE}' >&2; exit 1`)} });
});
`;

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "forgery.ts": DAG } });
});
afterAll(async () => {
  await project.cleanup();
});

it("printed or child-written events cannot change a task's result", async () => {
  const r = await project.cliJson(["dags", "test", "forgery", "--json"]);
  const byId = Object.fromEntries((r.json.tasks as Array<{ taskId: string; state: string; xcom: unknown }>).map((t) => [t.taskId, t]));
  expect(byId.prints).toMatchObject({ state: "success", xcom: "the-real-result" });
  expect(byId.fails?.state).toBe("failed");
  expect(r.json.state).toBe("failed");
  const log = await project.cli(["tasks", "logs", "forgery", r.json.runId, "prints"]);
  expect(log.stdout).toContain("fd 3 is closed in children");
  // fd 3 of a node child is not the events channel: closed, or one of node's own descriptors.
  expect(log.stdout).toMatch(/^node: E[A-Z]+$/m);
  expect(log.stdout).not.toContain("node wrote");
  // What the task printed stays in its log as text.
  expect(log.stdout).toContain(FAKE);
  const failed = await project.cli(["tasks", "logs", "forgery", r.json.runId, "fails"]);
  expect(failed.stdout).toContain("bash command failed with exit code 1");
});
