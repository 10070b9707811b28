/**
 * `airlock init` scaffolds a working project: its example DAG (a bash task, an fn task, and an fn task sealed in
 * the scaffold's `example` environment, built on first use) passes `airlock dags test`; init refuses to overwrite
 * a project unless forced.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BIN, type CliResult } from "./helpers/project.js";

let root: string;

function airlock(cwd: string, args: string[]): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AIRLOCK") && !k.startsWith("VITEST"))) as Record<string, string>;
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "airlock-init-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

it("scaffolds a project whose example DAG passes dags test, including its sealed task", async () => {
  const r = await airlock(root, ["init", "my-project"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("airlock dags test example");
  const dir = path.join(root, "my-project");
  for (const f of ["airlock.config.json", "dags/example.ts", "environments/example/package.json", ".gitignore"]) expect(existsSync(path.join(dir, f)), f).toBe(true);
  expect(readFileSync(path.join(dir, ".gitignore"), "utf8")).toContain(".airlock/");

  const list = await airlock(dir, ["dags", "list", "--json"]);
  // A new DAG starts paused, as in Airflow; dags test runs it anyway.
  expect(JSON.parse(list.stdout)).toMatchObject({ items: [{ dagId: "example", schedule: "@daily", isPaused: true }], importErrors: [] });

  const test = await airlock(dir, ["dags", "test", "example", "--json"]);
  expect(test.code, test.stderr).toBe(0);
  const summary = JSON.parse(test.stdout) as { state: string; tasks: Array<{ taskId: string; state: string; xcom: unknown }> };
  expect(summary.state).toBe("success");
  const byId = Object.fromEntries(summary.tasks.map((t) => [t.taskId, t]));
  expect(byId.greet?.xcom).toBe("hello world");
  expect(byId.count?.xcom).toBe(5);
  // is-number comes from environments/example, which is not installed anywhere else.
  expect(byId.sealed).toMatchObject({ state: "success", xcom: { isNumber: true } });
}, 300_000);

it("init into the current folder, and refusal to overwrite without --force", async () => {
  const here = path.join(root, "here");
  mkdirSync(here);
  expect((await airlock(here, ["init"])).code).toBe(0);
  expect(existsSync(path.join(here, "dags", "example.ts"))).toBe(true);
  const again = await airlock(here, ["init"]);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain("already has an airlock.config.json");
  expect(again.stderr).toContain("--force");
  expect((await airlock(here, ["init", "--force"])).code).toBe(0);
});
