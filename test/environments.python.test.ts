/**
 * Python environments through `airlock env` (the real CLI): the first build resolves requirements.lock with hashes
 * beside the spec, later builds reuse it and the build (cached by key), a changed requirements.txt re-resolves to a
 * new key, the lock's hashes are enforced, an environment may hold package.json and requirements.txt, concurrent
 * builds of one key happen once, list/show/prune/rm cover Python environments, and a missing uv says how to install it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type Project } from "./helpers/project.js";

let project: Project;
let dir: string;
beforeAll(() => {
  project = createProject();
  dir = project.writeFile("environments/mixed/requirements.txt", "six==1.16.0\n");
  project.writeFile("environments/mixed/package.json", JSON.stringify({ name: "mixed", private: true, dependencies: {} }));
  project.writeFile("environments/mixed/environment.yaml", 'python: "3.11"\n');
});
afterAll(async () => {
  await project.cleanup();
});

interface BuildJson {
  environments: Array<{ name: string; ok: boolean; cached: boolean; key: string; root: string; pythonVersion: string | null; error?: { message: string } }>;
}

const lockOf = () => readFileSync(path.join(path.dirname(dir), "requirements.lock"), "utf8");
const installedSix = (root: string) => spawnSync(path.join(root, "venv", "bin", "python"), ["-I", "-c", "import six; print(six.__version__)"], { encoding: "utf8" }).stdout.trim();

describe("Python environments", () => {
  it("first build writes requirements.lock with hashes; concurrent builds of one key build once; later builds are cached", async () => {
    const [a, b] = await Promise.all([project.cliJson<BuildJson>(["env", "build", "mixed", "--json"]), project.cliJson<BuildJson>(["env", "build", "mixed", "--json"])]);
    const builds = [a.json.environments[0], b.json.environments[0]];
    expect(builds.every((x) => x?.ok)).toBe(true);
    expect(builds[0]?.key).toBe(builds[1]?.key);
    expect(builds.filter((x) => x?.cached)).toHaveLength(1);
    const lock = lockOf();
    expect(lock).toMatch(/^# airlock: requirements\.txt sha256=[0-9a-f]{64} python=3\.11\n/);
    expect(lock).toMatch(/six==1\.16\.0 \\\n\s+--hash=sha256:[0-9a-f]{64}/);
    expect(builds[0]?.pythonVersion).toMatch(/^3\.11\.\d+$/);
    expect(installedSix(builds[0]?.root as string)).toBe("1.16.0");

    const again = await project.cliJson<BuildJson>(["env", "build", "mixed", "--json"]);
    expect(again.json.environments[0]).toMatchObject({ cached: true, key: builds[0]?.key });
    expect(lockOf()).toBe(lock);
  });

  it("list and show name the Python version and requirements", async () => {
    const list = await project.cliJson<{ items: Array<{ name: string; state: string; python: string | null }> }>(["env", "list", "--json"]);
    expect(list.json.items.find((e) => e.name === "mixed")).toMatchObject({ state: "built", python: expect.stringMatching(/^3\.11\.\d+$/) });
    const show = await project.cliJson<{ spec: { python: string; pythonRequirements: string[] } }>(["env", "show", "mixed", "--json"]);
    expect(show.json.spec).toMatchObject({ python: "3.11", pythonRequirements: ["six==1.16.0"] });
    const table = await project.cli(["env", "list"]);
    expect(table.stdout).toMatch(/mixed\s+[0-9a-f]{12}\s+built\s+\S+\s+3\.11\.\d+/);
  });

  it("a changed requirements.txt re-resolves the lock to a new key; prune removes the superseded build, rm the rest", async () => {
    const before = (await project.cliJson<BuildJson>(["env", "build", "mixed", "--json"])).json.environments[0];
    writeFileSync(dir, "six==1.15.0\n");
    const after = (await project.cliJson<BuildJson>(["env", "build", "mixed", "--json"])).json.environments[0];
    expect(after).toMatchObject({ ok: true, cached: false });
    expect(after?.key).not.toBe(before?.key);
    expect(lockOf()).toContain("six==1.15.0");
    expect(installedSix(after?.root as string)).toBe("1.15.0");

    const pruned = await project.cliJson<{ removed: Array<{ key: string; reason: string }> }>(["env", "prune", "--yes", "--json"]);
    expect(pruned.json.removed).toEqual([expect.objectContaining({ key: before?.key, reason: "superseded by a newer build" })]);
    const removed = await project.cliJson<{ removed: Array<{ key: string }> }>(["env", "rm", "mixed", "--json"]);
    expect(removed.json.removed.map((r) => r.key)).toEqual([after?.key]);
  });

  it("a lock whose hash does not match what the index serves fails the build", async () => {
    const lock = lockOf();
    writeFileSync(path.join(path.dirname(dir), "requirements.lock"), lock.replace(/--hash=sha256:[0-9a-f]{64}/g, `--hash=sha256:${"0".repeat(64)}`));
    const r = await project.cli(["env", "build", "mixed"]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/hash/i);
    writeFileSync(path.join(path.dirname(dir), "requirements.lock"), lock);
  });

  it("env init --python scaffolds a Python environment that builds", async () => {
    const init = await project.cli(["env", "init", "scaffolded", "--python", "3.11"]);
    expect(init.code).toBe(0);
    expect(readFileSync(path.join(project.dir, "environments", "scaffolded", "environment.yaml"), "utf8")).toContain('python: "3.11"');
    const build = await project.cliJson<BuildJson>(["env", "build", "scaffolded", "--json"]);
    expect(build.json.environments[0]).toMatchObject({ ok: true, pythonVersion: expect.stringMatching(/^3\.11\./) });
    const bad = await project.cli(["env", "init", "badpy", "--python", "three"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('environments/badpy/environment.yaml: python: "three" is not a Python version');
  });

  it("without uv, a build says how to install it", async () => {
    const r = await project.cli(["env", "build", "mixed", "--force"], { env: { AIRLOCK_CACHE_DIR: path.join(project.dir, "no-cache"), PATH: "/usr/local/bin:/usr/bin:/bin" } });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("uv, which builds Python environments, is not installed");
    expect(r.stdout + r.stderr).toContain("scripts/setup.sh");
  });
});
