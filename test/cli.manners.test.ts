/**
 * The CLI's manners on a terminal (a pty from script(1)): progress on a zero-width terminal falls back to plain
 * lines, `env prune` shows what it would delete and asks (a "n" keeps everything, a "y" deletes), and counts read
 * "1 slot", "1 run" — never "1 slots". Unpausing a DAG that would create many catch-up runs asks the same way.
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, createProject, type Project } from "./helpers/project.js";

let project: Project;
beforeAll(() => {
  project = createProject({ dags: { "once.ts": `import { bash, dag } from "airlock";
export default dag({ id: "once", schedule: null }, () => { bash({ id: "a", command: "echo a" }); });
`, "catchy.ts": `import { bash, dag } from "airlock";
export default dag({ id: "catchy", schedule: "@hourly", startDate: "2026-01-01", catchup: true, pausedOnCreation: true }, () => { bash({ id: "a", command: "echo a" }); });
` } });
});
afterAll(() => project.cleanup());

/** Runs the CLI on a pty of `cols` columns, typing `input`; returns everything the terminal showed. */
function onTerminal(args: string, options: { cols?: number; input?: string } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const cmd = `stty cols ${options.cols ?? 0} rows ${options.cols ? 40 : 0}; ${process.execPath} ${BIN} ${args}`;
    const c = spawn("script", ["-qec", cmd, "/dev/null"], { cwd: project.dir, env: { ...process.env, ...project.env, TERM: "xterm", COLUMNS: String(options.cols ?? 0) } });
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    if (options.input !== undefined) setTimeout(() => c.stdin.write(options.input), 1500);
    c.on("close", (code) => resolve({ code: code ?? -1, out: out.replace(/\r/g, "") }));
  });
}

describe("on a terminal", () => {
  it("env build shows plain progress lines on a zero-width terminal", async () => {
    expect((await project.cli(["env", "init", "tiny"])).code).toBe(0);
    const r = await onTerminal("env build tiny", { cols: 0 });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^\[tiny\] resolving dependencies/m);
    expect(r.out).toMatch(/^\[tiny\] built [0-9a-f]{12}, Node [\d.]+, .* \(\d+\.\ds\)$/m);
    // No spinner and no cursor movement: a zero-width terminal cannot redraw lines.
    expect(r.out).not.toMatch(/\u001b\[|[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
  }, 180_000);

  it("env prune lists what it would delete and asks; n keeps it, y deletes it", async () => {
    const key = (await project.cliJson<{ items: Array<{ name: string; key: string }> }>(["env", "list", "--json"])).json.items.find((e) => e.name === "tiny")?.key as string;
    rmSync(path.join(project.dir, "environments", "tiny"), { recursive: true });
    const build = path.join(project.stateDir, "environments", key);
    expect(existsSync(build)).toBe(true);
    const no = await onTerminal("env prune", { cols: 120, input: "n\n" });
    expect(no.out).toMatch(/would remove tiny [0-9a-f]{12}/);
    expect(no.out).toMatch(/Remove this build\? \[y\/N\]/);
    expect(no.out).toMatch(/not confirmed: nothing was removed/);
    expect(existsSync(build)).toBe(true);
    const yes = await onTerminal("env prune", { cols: 120, input: "y\n" });
    expect(yes.code, yes.out).toBe(0);
    expect(yes.out).toMatch(/removed tiny [0-9a-f]{12}/);
    expect(existsSync(build)).toBe(false);
  }, 120_000);

  it("unpausing a DAG with a large catch-up asks first; n keeps it paused, y unpauses it", async () => {
    const paused = async () => (await project.cliJson<{ items: Array<{ dagId: string; isPaused: boolean }> }>(["dags", "list", "--json"])).json.items.find((d) => d.dagId === "catchy")?.isPaused;
    expect(await paused()).toBe(true);
    const no = await onTerminal("dags unpause catchy", { cols: 120, input: "n\n" });
    expect(no.out).toMatch(/Unpausing catchy creates more than 25 catch-up runs at once .*Unpause\? \[y\/N\]/);
    expect(no.code).toBe(2);
    expect(await paused()).toBe(true);
    const yes = await onTerminal("dags unpause catchy", { cols: 120, input: "y\n" });
    expect(yes.code, yes.out).toBe(0);
    expect(await paused()).toBe(false);
    // Paused again so that nothing here starts its runs.
    expect((await project.cli(["dags", "pause", "catchy"])).code).toBe(0);
  }, 120_000);

  it("counts are singular for one", async () => {
    expect((await project.cli(["pools", "set", "single", "1"])).stdout).toBe("pool single: 1 slot\n");
    expect((await project.cli(["pools", "set", "double", "2"])).stdout).toBe("pool double: 2 slots\n");
    expect((await project.cli(["dags", "test", "once"])).code).toBe(0);
    const del = await project.cli(["dags", "delete", "once", "--yes"]);
    expect(del.stdout).toMatch(/^deleted once and 1 run;/);
  });
});
