/**
 * State files are private: the state folder is 0700, the SQLite store and its -wal/-shm files, the key file and
 * every log are 0600 (log folders 0700), also when an older version left them world-readable.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

const DAG = `import { bash, dag } from "airlock";
export default dag({ id: "modes" }, () => { bash({ id: "hello", command: "echo hello" }); });
`;

let project: Project;

beforeAll(() => {
  project = createProject({ dags: { "modes.ts": DAG } });
});
afterAll(async () => {
  await project.cleanup();
});

const mode = (p: string) => statSync(p).mode & 0o777;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) walk(p, out);
  }
  return out;
}

it("the store, key, logs and state folder are readable by their owner only", async () => {
  // As an older version left them: a world-readable state folder and store.
  mkdirSync(project.stateDir, { recursive: true, mode: 0o755 });
  chmodSync(project.stateDir, 0o755);
  writeFileSync(project.dbPath, "", { mode: 0o644 });
  chmodSync(project.dbPath, 0o644);
  const r = await project.cli(["dags", "test", "modes"]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(mode(project.stateDir)).toBe(0o700);
  for (const f of [project.dbPath, `${project.dbPath}-wal`, `${project.dbPath}-shm`, path.join(project.stateDir, "secret.key")]) {
    if (f.endsWith(".db") || f.endsWith(".key")) expect(existsSync(f), f).toBe(true);
    if (existsSync(f)) expect(mode(f), f).toBe(0o600);
  }
  const logs = walk(path.join(project.stateDir, "logs"));
  expect(logs.some((p) => p.endsWith(".log"))).toBe(true);
  for (const p of logs) expect(mode(p), p).toBe(statSync(p).isDirectory() ? 0o700 : 0o600);
});
