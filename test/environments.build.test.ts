/**
 * Environment builds with real installs from the npm registry: lockfile written back, cached by key (an
 * unchanged rebuild installs nothing), a changed package.json re-resolves, concurrent builds of one key across
 * processes happen once, and a killed build never appears ready while the previous build stays usable.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildEnvironment, ensureEnvironment, environmentLayout, listEnvironments, pruneEnvironments, readBuild,
} from "../src/environments/index.js";
import { makeProject, ROOT, TSX, waitFor, type TestProject } from "./helpers/sandbox.js";

let project: TestProject;
const CLI = path.join(ROOT, "test", "helpers", "env-cli.ts");

beforeAll(async () => {
  project = await makeProject("airlock-build-");
});
afterAll(() => project?.cleanup());

/** Runs `airlock env <args>` in the project; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TSX, CLI, "env", ...args], { cwd: project.dir, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("buildEnvironment", () => {
  it("installs from the registry, writes the lockfile back, and reuses the build while nothing changes", async () => {
    const dir = project.addEnvironment("util", { lodash: "4.17.20" });
    const logs: string[] = [];
    const first = await buildEnvironment(project.config, "util", { log: (l) => logs.push(l) });
    expect(first.cached).toBe(false);
    expect(logs.join("\n")).toMatch(/installing 1 package/);
    // The resolved lockfile is next to the spec, for users to commit.
    const lock = JSON.parse(readFileSync(path.join(dir, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
    expect(lock.packages["node_modules/lodash"]?.version).toBe("4.17.20");
    const installed = JSON.parse(readFileSync(path.join(first.build.root, "node_modules", "lodash", "package.json"), "utf8")) as { version: string };
    expect(installed.version).toBe("4.17.20");
    expect(first.build).toMatchObject({ name: "util", nodeBinary: null, nodeVersion: process.versions.node });
    expect(first.build.sizeBytes).toBeGreaterThan(100_000);

    const inode = statSync(path.join(first.build.root, "node_modules", "lodash", "package.json")).ino;
    const again = await buildEnvironment(project.config, "util", { log: (l) => logs.push(`again: ${l}`) });
    expect(again).toMatchObject({ cached: true, build: { key: first.build.key } });
    expect(logs.filter((l) => l.startsWith("again:"))).toEqual([]);
    expect(statSync(path.join(again.build.root, "node_modules", "lodash", "package.json")).ino).toBe(inode);

    const resolved = await ensureEnvironment(project.config, "util");
    expect(resolved).toEqual({ name: "util", key: first.build.key, root: first.build.root, nodeBinary: null });
    const [status] = (await listEnvironments(project.config)).filter((e) => e.name === "util");
    expect(status).toMatchObject({ state: "built", key: first.build.key, lastUsed: expect.any(String) });
  });

  it("re-resolves when package.json changes, keeps the previous build, and prune removes it once superseded", async () => {
    const before = await buildEnvironment(project.config, "util");
    project.addEnvironment("util", { lodash: "4.17.21" });
    const [stale] = (await listEnvironments(project.config)).filter((e) => e.name === "util");
    expect(stale).toMatchObject({ state: "stale", build: { key: before.build.key } });

    const after = await buildEnvironment(project.config, "util");
    expect(after.cached).toBe(false);
    expect(after.build.key).not.toBe(before.build.key);
    expect(JSON.parse(readFileSync(path.join(project.config.environmentsFolder, "util", "package-lock.json"), "utf8")).packages["node_modules/lodash"].version).toBe("4.17.21");
    // The previous build is still there for tries that use it.
    expect(readBuild(environmentLayout(project.config), before.build.key)).not.toBeNull();

    const removed = await pruneEnvironments(project.config);
    expect(removed.map((r) => r.key)).toContain(before.build.key);
    expect(removed.map((r) => r.key)).not.toContain(after.build.key);
    expect(existsSync(before.build.root)).toBe(false);
    expect(readBuild(environmentLayout(project.config), after.build.key)).not.toBeNull();
  });

  it("builds one key once when several processes build it at the same time", async () => {
    project.addEnvironment("shared", { ms: "2.1.3", "is-number": "7.0.0" });
    const results = await Promise.all([1, 2, 3].map(() => cli(["build", "--json", "shared"])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const builds = results.map((r) => (JSON.parse(r.stdout) as { environments: Array<{ cached: boolean; key: string }> }).environments[0]);
    expect(new Set(builds.map((b) => b?.key)).size).toBe(1);
    expect(builds.filter((b) => b?.cached === false)).toHaveLength(1);
    const keyDirs = readdirSync(environmentLayout(project.config).builds).filter((d) => d === builds[0]?.key);
    expect(keyDirs).toHaveLength(1);
  });

  it("never shows a killed build as ready, and the previous build stays usable", async () => {
    project.addEnvironment("killme", { ms: "2.1.3" });
    const previous = await buildEnvironment(project.config, "killme");
    // A registry that accepts the tarball request and never answers: the build is mid-install when killed.
    const sockets: Socket[] = [];
    let requested = false;
    let answer = false;
    const server: Server = createServer((req, res) => {
      requested = true;
      sockets.push(req.socket);
      if (answer) res.writeHead(404).end();
    });
    server.on("connection", (s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const dir = project.addEnvironment("killme", { ms: "2.1.3", "hangs-forever": "1.0.0" });
      const lock = JSON.parse(readFileSync(path.join(dir, "package-lock.json"), "utf8")) as { packages: Record<string, unknown> };
      (lock.packages[""] as { dependencies: Record<string, string> }).dependencies["hangs-forever"] = "1.0.0";
      lock.packages["node_modules/hangs-forever"] = {
        version: "1.0.0", resolved: `http://127.0.0.1:${port}/hangs-forever/-/hangs-forever-1.0.0.tgz`,
        integrity: "sha512-T7c5bd2lUaP4Y3n5l4c7m3kq8rI1Hq+u2v+XlN0T9o3pXzYzN8n2i8n9jM8fZ0xG5b9S6cJ5o1WQ7tHkZ2T3wA==",
      };
      writeFileSync(path.join(dir, "package-lock.json"), JSON.stringify(lock, null, 2));
      const child = spawn(process.execPath, [...TSX, CLI, "env", "build", "killme"], { cwd: project.dir, detached: true, stdio: "ignore" });
      await waitFor("npm to request the tarball", () => requested, 60_000);
      process.kill(-(child.pid as number), "SIGKILL");
      await new Promise((r) => child.once("exit", r));

      const [status] = (await listEnvironments(project.config)).filter((e) => e.name === "killme");
      expect(status?.state).toBe("stale");
      expect(status?.build?.key).toBe(previous.build.key);
      // The interrupted install exists only as a temporary folder, never under its key.
      const layout = environmentLayout(project.config);
      const leftovers = readdirSync(layout.tmp).filter((d) => /^[0-9a-f]{64}-/.test(d));
      expect(leftovers.length).toBeGreaterThan(0);
      for (const d of leftovers) expect(readBuild(layout, d.slice(0, 64))).toBeNull();
      expect(existsSync(path.join(previous.build.root, "node_modules", "ms", "package.json"))).toBe(true);

      // The killed builder's lock is taken over at once (its pid is gone) and its leftovers are cleared.
      answer = true;
      await expect(buildEnvironment(project.config, "killme")).rejects.toMatchObject({ name: "EnvironmentBuildError", code: expect.not.stringMatching(/lock_timeout/) });
      expect(readdirSync(layout.tmp).filter((d) => /^[0-9a-f]{64}-/.test(d))).toEqual([]);
      expect(readBuild(layout, previous.build.key)).not.toBeNull();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it("runs an environment on a Node version from the registry, cached across builds", async () => {
    project.addEnvironment("old-node", { ms: "2.1.3" }, 'node: "18"\n');
    const { build } = await buildEnvironment(project.config, "old-node");
    expect(build.nodeVersion).toMatch(/^18\./);
    expect(build.nodeBinary).toMatch(/runtimes\/18\.\d+\.\d+\/bin\/node$/);
    const { execFileSync } = await import("node:child_process");
    expect(execFileSync(build.nodeBinary as string, ["--version"], { encoding: "utf8" }).trim()).toBe(`v${build.nodeVersion}`);
  });
});
