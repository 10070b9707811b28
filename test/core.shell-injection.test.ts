/**
 * Run conf and params never become shell syntax: every `{{ … }}` value pasted into a bash command is quoted for
 * where it lands (bare word, '…', "…", $(…), `…`, a here-document), so a conf like `x; id > file` prints literally,
 * including in the command `airlock init` scaffolds. `{{ x | trusted }}` is the documented opt-out.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, ROOT, type Project } from "./helpers/project.js";

const scaffoldCommand = /command: "(echo hello \{\{ params\.name \}\})"/.exec(readFileSync(path.join(ROOT, "templates/project/dags/example.ts"), "utf8"))?.[1];

const DAG = `import { bash, dag } from "airlock";
export default dag({ id: "quoting", params: { name: "world", v: "plain", cmd: "echo trusted-ran" } }, () => {
  bash({ id: "scaffold", command: ${JSON.stringify(scaffoldCommand)} });
  bash({ id: "contexts", command: [
    "echo bare {{ params.v }}",
    "echo 'single {{ params.v }}'",
    'echo "double {{ params.v }}"',
    "echo $(echo sub {{ params.v }})",
    "echo \\"$(echo dsub {{ params.v }})\\"",
    "echo \`echo tick {{ params.v }}\`",
    "cat <<EOF\\nheredoc {{ params.v }}\\nEOF",
    "echo done",
  ].join("\\n") });
  bash({ id: "trusted", command: "{{ params.cmd | trusted }}" });
});
`;

let project: Project;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "airlock-pwn-"));
  project = createProject({ dags: { "quoting.ts": DAG } });
});
afterAll(async () => {
  await project.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function runTask(task: string, conf: Record<string, string>): Promise<{ state: string; log: string }> {
  const r = await project.cliJson(["dags", "test", "quoting", "--conf", JSON.stringify(conf), "--json"]);
  const t = r.json.tasks.find((x: { taskId: string }) => x.taskId === task);
  const logs = await project.cli(["tasks", "logs", "quoting", r.json.runId, task]);
  return { state: t.state, log: logs.stdout };
}

it("the scaffold's command prints a hostile name literally and runs nothing", async () => {
  expect(scaffoldCommand).toBeDefined();
  const marker = path.join(dir, "pwned");
  const name = `x; id > ${marker}`;
  const r = await runTask("scaffold", { name });
  expect(r.state).toBe("success");
  expect(r.log).toContain(`hello ${name}\n`);
  expect(existsSync(marker)).toBe(false);
});

it("quotes for every shell context a value can land in", async () => {
  const marker = path.join(dir, "pwned2");
  const v = `a'b"c $(touch ${marker}) \`touch ${marker}\` \\ $HOME; touch ${marker}`;
  const r = await runTask("contexts", { v });
  expect(r.state).toBe("success");
  for (const label of ["bare", "single", "double", "sub", "dsub", "tick", "heredoc"]) expect(r.log, label).toContain(`${label} ${v}\n`);
  expect(r.log).toContain("done\n");
  expect(existsSync(marker)).toBe(false);
});

it("a value that would end its here-document fails the task, naming the opt-outs", async () => {
  const r = await runTask("contexts", { v: "x\nEOF\nid" });
  expect(r.state).toBe("failed");
  expect(r.log).toContain("here-document");
  expect(r.log).toContain("| trusted");
});

it("| trusted pastes a fragment as shell", async () => {
  const r = await runTask("trusted", {});
  expect(r.state).toBe("success");
  expect(r.log).toContain("trusted-ran\n");
});
