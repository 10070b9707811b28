/**
 * Getting started in an editor: `npm install` of Airlock puts `airlock` on the PATH (npx), and packages that live
 * only in an environment get their types too. In an `airlock init` project `npx tsc --noEmit` passes at once; after
 * `airlock env build` of an environment holding lodash and @types/lodash, a DAG file's sealed `fn` code importing
 * lodash is type-checked against lodash's real types (a misuse is a type error), and the same code runs sealed.
 */
import { spawn } from "node:child_process";
import { lstatSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT } from "./helpers/project.js";

interface Result { code: number; out: string }

/** Runs a program in `cwd` with a clean environment (no Airlock settings of the developer's shell). */
function run(cmd: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<Result> {
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AIRLOCK") && !k.startsWith("VITEST") && k !== "NODE_OPTIONS")) as Record<string, string>;
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}
const airlock = (cwd: string, args: string[]) => run(process.execPath, [BIN, ...args], cwd);
const tsc = (cwd: string) => run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "."], cwd);

let dir: string;
let project: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "airlock-editor-types-"));
  project = path.join(dir, "p");
  const init = await airlock(dir, ["init", "p"]);
  expect(init.code, init.out).toBe(0);
  writeFileSync(path.join(project, "airlock.config.json"), JSON.stringify({ dagsFolder: "dags", environmentsFolder: "environments", scheduler: { dagsArePausedAtCreation: false } }, null, 2));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("types for editors", () => {
  it("npm install puts airlock on the PATH of npx", async () => {
    const consumer = path.join(dir, "consumer");
    await run("mkdir", ["-p", consumer], dir);
    writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    const install = await run("npm", ["install", "--no-audit", "--no-fund", "--offline", ROOT], consumer);
    expect(install.code, install.out).toBe(0);
    const npx = await run("npx", ["--offline", "airlock", "--version"], consumer);
    expect(npx.code, npx.out).toBe(0);
    expect(npx.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("a fresh init project type-checks: the example environment's untyped package is declared", async () => {
    const r = await tsc(project);
    expect(r.code, r.out).toBe(0);
  });

  it("after env build, sealed code is checked against the environment's own @types, and runs there", async () => {
    const init = await airlock(project, ["env", "init", "lodash4", "--dep", "lodash@4.17.21", "--dep", "@types/lodash@4.17.13"]);
    expect(init.code, init.out).toBe(0);
    writeFileSync(path.join(project, "dags", "typed.ts"), `import { dag, fn, isolated } from "airlock";
export default dag({ id: "typed", schedule: null }, () => {
  isolated(fn({ id: "words", run: async () => {
    const _ = (await import("lodash")).default;
    const words: string[] = _.words("sealed typed code");
    return _.chunk(words, 2).length;
  } }), { environment: "lodash4" });
});
`);
    // Before the build lodash is not there for the editor at all.
    expect((await tsc(project)).out).toMatch(/typed\.ts.*Cannot find module 'lodash'/);
    const build = await airlock(project, ["env", "build", "lodash4"]);
    expect(build.code, build.out).toBe(0);
    expect(build.out).toMatch(/types for editors: \d+ modules? in node_modules\/@types/);
    const link = path.join(project, "node_modules", "@types", "lodash");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toMatch(/node_modules\/@types\/lodash$/);
    const good = await tsc(project);
    expect(good.code, good.out).toBe(0);
    writeFileSync(path.join(project, "dags", "misuse.ts"), `import { dag, fn, isolated } from "airlock";
export default dag({ id: "misuse", schedule: null }, () => {
  isolated(fn({ id: "bad", run: async () => {
    const _ = (await import("lodash")).default;
    const n: number = _.camelCase("not a number");
    return n;
  } }), { environment: "lodash4" });
});
`);
    const bad = await tsc(project);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/misuse\.ts\(5,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    rmSync(path.join(project, "dags", "misuse.ts"));
    const types = await airlock(project, ["env", "types", "--json"]);
    expect(JSON.parse(types.out).items).toEqual(expect.arrayContaining([
      expect.objectContaining({ module: "lodash", environment: "lodash4", source: "types-package" }),
      expect.objectContaining({ module: "is-number", environment: "example", source: "any" }),
    ]));
    const t = await airlock(project, ["dags", "test", "typed", "--json"]);
    expect(t.code, t.out).toBe(0);
    expect(JSON.parse(t.out).tasks[0]).toMatchObject({ taskId: "words", state: "success", xcom: 2 });
  }, 600_000);
});
