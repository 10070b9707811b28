/**
 * No talk-back: a sandboxed task cannot read the store or the config, connect to the API or any local port,
 * see the orchestrator's environment, or write into the DAG folder. Each denial has a positive control that
 * shows the same probe succeeds when the thing is granted, so the test can fail. Every test runs with a cold
 * launch and with a warm one (a sandbox started before its try), which must confine exactly the same.
 */
import { createServer, type Server } from "node:net";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/backends/types.js";
import { bashTry, ensureBubblewrap, fnTry, LAUNCH_MODES, makeProject, runTry, type TestProject, startSandbox, type SandboxFixture } from "./helpers/sandbox.js";

const CANARY = "canary-7f3a9e";

let project: TestProject;
let server: Server;
let port: number;
let storeFile: string;
let configFile: string;
let dagFile: string;

/** Probes everything a sandboxed task must not reach; each entry says what happened. */
function probeBody(): string {
  return `
    const fs = await import("node:fs");
    const net = await import("node:net");
    const attempt = (f) => { try { return { ok: true, value: f() }; } catch (e) { return { ok: false, code: e.code ?? e.message }; } };
    const connect = () => new Promise((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port: ${"${PORT}"} });
      const done = (r) => { s.destroy(); resolve(r); };
      s.once("connect", () => s.once("data", (d) => done({ ok: true, value: d.toString() })));
      s.once("error", (e) => done({ ok: false, code: e.code }));
      setTimeout(() => done({ ok: false, code: "TIMEOUT" }), 3000);
    });
    return {
      store: attempt(() => fs.readFileSync(${"${STORE}"}, "utf8")),
      config: attempt(() => fs.readFileSync(${"${CONFIG}"}, "utf8")),
      dagRead: attempt(() => fs.readFileSync(${"${DAG}"}, "utf8")),
      dagWrite: attempt(() => fs.writeFileSync(${"${DAG}"} + ".evil.ts", "export default 1")),
      dagOverwrite: attempt(() => fs.writeFileSync(${"${DAG}"}, "export default 666")),
      port: await connect(),
      env: Object.keys(process.env).sort(),
      canary: Object.values(process.env).some((v) => String(v).includes(${JSON.stringify(CANARY)})),
      scratchWrite: attempt(() => { fs.writeFileSync(ctx.scratchDir + "/ok.txt", "ok"); return fs.readFileSync(ctx.scratchDir + "/ok.txt", "utf8"); }),
      rootWrite: attempt(() => fs.writeFileSync("/evil.txt", "x")),
      usrWrite: attempt(() => fs.writeFileSync("/usr/evil.txt", "x")),
      uid: process.getuid(),
      hostname: (await import("node:os")).hostname(),
    };`
    .replaceAll("${PORT}", String(port))
    .replaceAll("${STORE}", JSON.stringify(storeFile))
    .replaceAll("${CONFIG}", JSON.stringify(configFile))
    .replaceAll("${DAG}", JSON.stringify(dagFile));
}

type Attempt = { ok: boolean; value?: string; code?: string };
type Probe = Record<"store" | "config" | "dagRead" | "dagWrite" | "dagOverwrite" | "port" | "scratchWrite" | "rootWrite" | "usrWrite", Attempt> & {
  env: string[]; canary: boolean; uid: number; hostname: string;
};

beforeAll(async () => {
  ensureBubblewrap();
  project = await makeProject("airlock-talkback-");
  // Stand-ins for what the orchestrator holds: its store, its config with a secret, a DAG file, its API port.
  storeFile = path.join(project.config.stateDir, "airlock.db");
  writeFileSync(storeFile, "SQLite format 3\0 store-secret");
  configFile = path.join(project.dir, "airlock.config.json");
  writeFileSync(configFile, JSON.stringify({ project: "envtest", api: { token: "config-secret-token" } }));
  dagFile = path.join(project.config.dagsFolder, "pipeline.ts");
  writeFileSync(dagFile, "export default 1;\n");
  server = createServer((socket) => socket.end("api-says-hello"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
  process.env.AIRLOCK_CANARY = CANARY;
  process.env.DATABASE_URL = `postgres://user:${CANARY}@localhost/db`;
  process.env.AIRLOCK__API__TOKEN = CANARY;
});

afterAll(async () => {
  delete process.env.AIRLOCK_CANARY;
  delete process.env.DATABASE_URL;
  delete process.env.AIRLOCK__API__TOKEN;
  await new Promise((r) => server?.close(r));
  project?.cleanup();
});

describe.each(LAUNCH_MODES)("a sandboxed task (%s launch)", (mode) => {
  let sandbox: SandboxFixture;
  let backend: Backend;
  beforeAll(async () => {
    sandbox = await startSandbox(project, { warm: mode === "warm" });
    backend = sandbox.backend;
  });
  afterAll(async () => {
    await sandbox?.close();
  });


  it("cannot read the store or config, reach a local port, see the orchestrator's env, or write the DAG folder", async () => {
    const out = await runTry(backend, fnTry(project, "talkback", { body: probeBody() }));
    expect(sandbox.lastLaunchWarm).toBe(mode === "warm");
    expect(out.error).toBeNull();
    expect(out.exit.code).toBe(0);
    const p = out.result as Probe;
    expect(p.store).toMatchObject({ ok: false, code: "ENOENT" });
    expect(p.config).toMatchObject({ ok: false, code: "ENOENT" });
    expect(p.dagRead).toMatchObject({ ok: false, code: "ENOENT" });
    expect(p.dagWrite.ok).toBe(false);
    expect(p.dagOverwrite.ok).toBe(false);
    expect(p.port.ok).toBe(false);
    expect(p.canary).toBe(false);
    expect(p.env.filter((k) => k.startsWith("AIRLOCK") || k === "DATABASE_URL")).toEqual([]);
    expect(p.env).toEqual(expect.arrayContaining(["HOME", "PATH", "TMPDIR"]));
    expect(p.rootWrite.ok).toBe(false);
    expect(p.usrWrite.ok).toBe(false);
    // What it may do, it can: its scratch directory is writable.
    expect(p.scratchWrite).toEqual({ ok: true, value: "ok" });
    expect(p.uid).toBe(65534);
    expect(p.hostname).toBe("airlock-sandbox");
    // Nothing it tried reached the host.
    expect(existsSync(`${dagFile}.evil.ts`)).toBe(false);
    expect(readFileSync(storeFile, "utf8")).toContain("store-secret");
  });

  it("reaches exactly what it is granted: the network when network is host, files listed as readable", async () => {
    const out = await runTry(backend, fnTry(project, "granted", { body: probeBody(), network: "host", readable: [dagFile] }));
    // A file granted by hand is mounted where it is: only a cold sandbox can (a warm one launches cold instead).
    expect(sandbox.lastLaunchWarm).toBe(false);
    expect(out.error).toBeNull();
    const p = out.result as Probe;
    expect(p.port).toEqual({ ok: true, value: "api-says-hello" });
    expect(p.dagRead).toEqual({ ok: true, value: "export default 1;\n" });
    // Granted read-only: the file cannot be changed. (A new file next to it may land in the sandbox's private
    // /tmp when the project lives under /tmp; the host's folder is checked below.)
    expect(p.dagOverwrite.ok).toBe(false);
    expect(readFileSync(dagFile, "utf8")).toBe("export default 1;\n");
    expect(p.store.ok).toBe(false);
    expect(p.config.ok).toBe(false);
    expect(existsSync(`${dagFile}.evil.ts`)).toBe(false);
  });

  it("runs bash tasks with the same confinement (env shows no orchestrator variables)", async () => {
    mkdirSync(path.join(project.config.stateDir, "logs"), { recursive: true });
    writeFileSync(path.join(project.config.stateDir, "logs", "other-task.log"), "another task's log\n");
    const out = await runTry(backend, bashTry(project, "bash_env",
      `env; cat ${JSON.stringify(path.join(project.config.stateDir, "logs", "other-task.log"))} 2>&1; ls ${JSON.stringify(project.dir)} 2>&1; echo done`));
    expect(sandbox.lastLaunchWarm).toBe(mode === "warm");
    expect(out.error).toBeNull();
    expect(out.result).toBe("done");
    expect(out.log).not.toContain(CANARY);
    expect(out.log).not.toMatch(/^AIRLOCK/m);
    expect(out.log).not.toContain("another task's log");
    expect(out.log).toContain("No such file or directory");
  });
});
