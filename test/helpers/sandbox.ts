/**
 * Fixtures for the environments and sandbox suites: a throwaway project folder, the shared download cache
 * (runtimes survive test runs), bubblewrap installed on demand, and tries run to their end.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, type AirlockConfig } from "../../src/config/config.js";
import type { Backend, ExitInfo, LaunchRequest, ResolvedEnvironment } from "../../src/backends/types.js";
import type { TaskEvent } from "../../src/runner/protocol.js";
import type { Resources } from "../../src/sdk/types.js";
import { launchRequest, serializedTask } from "./docker-runner.js";
import { WARM_LAUNCH_DEFAULTS } from "../../src/config/warm-launch.js";
import type { WarmPool } from "../../src/backends/warm/pool.js";

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Downloads shared by test runs (Node runtimes): AIRLOCK_TEST_CACHE, else ~/.cache/airlock-test. */
export const TEST_CACHE = process.env.AIRLOCK_TEST_CACHE ?? path.join(os.homedir(), ".cache", "airlock-test");
/** Node runtimes shared by test runs. */
export const RUNTIMES_DIR = path.join(TEST_CACHE, "runtimes");

/** `node --import <tsx>` arguments for running a TypeScript file in a child process. */
export const TSX = ["--import", path.join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")];

/** Installs bubblewrap with apt-get when it is missing (CI machines); throws with a hint when that is impossible. */
export function ensureBubblewrap(): void {
  if (spawnSync("bwrap", ["--version"]).status === 0) return;
  if (process.getuid?.() !== 0) throw new Error("bubblewrap is missing: run sudo apt-get install -y bubblewrap");
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
  execFileSync("apt-get", ["install", "-y", "-qq", "bubblewrap"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

/** A throwaway project: its config, folders, and a remover. */
export interface TestProject {
  dir: string;
  config: AirlockConfig;
  /** Writes environments/<name>/ with dependencies and an optional environment.yaml text. */
  addEnvironment(name: string, dependencies: Record<string, string>, yaml?: string): string;
  cleanup(): void;
}

/** Creates a project under the OS temp dir whose runtime cache is the shared one. */
export async function makeProject(prefix = "airlock-envtest-"): Promise<TestProject> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const stateDir = path.join(dir, ".airlock");
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(RUNTIMES_DIR, { recursive: true });
  // The project's runtimes folder is the shared cache, as a user could link it too.
  symlinkSync(RUNTIMES_DIR, path.join(stateDir, "runtimes"));
  mkdirSync(path.join(dir, "dags"));
  mkdirSync(path.join(dir, "environments"));
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify({ project: "envtest" }));
  const config = await loadConfig({ cwd: dir, env: {} });

  return {
    dir,
    config,
    addEnvironment(name, dependencies, yaml) {
      const envDir = path.join(dir, "environments", name);
      mkdirSync(envDir, { recursive: true });
      writeFileSync(path.join(envDir, "package.json"), `${JSON.stringify({ name: `env-${name}`, private: true, dependencies }, null, 2)}\n`);
      if (yaml !== undefined) writeFileSync(path.join(envDir, "environment.yaml"), yaml);
      return envDir;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Options of `fnTry`. */
export interface FnTryOptions {
  /** Body of the async task function; gets `ctx`, returns the XCom. */
  body: string;
  environment?: ResolvedEnvironment | null;
  resources?: Resources | null;
  network?: "none" | "host";
  /** Extra files the task may read. */
  readable?: string[];
}

/**
 * A launch request for an `fn` task whose body is `o.body`, as the executor makes it: the DAG module (which
 * imports "airlock") compiled into the state directory and passed as a readable path.
 */
export function fnTry(project: TestProject, id: string, o: FnTryOptions): LaunchRequest {
  const bundles = path.join(project.config.stateDir, "bundles");
  mkdirSync(bundles, { recursive: true });
  const moduleFile = path.join(bundles, `${id}.mjs`);
  writeFileSync(moduleFile, `import { dag, fn } from "airlock";\nexport default dag({ id: ${JSON.stringify(id)} }, () => {\n  fn({ id: "t", run: async (ctx) => {\n${o.body}\n  } });\n});\n`);
  const request = launchRequest(path.join(project.config.stateDir, "tries"), {
    dagId: id, task: { ...serializedTask("t", "fn", {}), backend: "sandbox" }, resources: o.resources ?? null,
    network: o.network ?? "none", environment: o.environment ?? null,
  });
  request.payload.dagModule = moduleFile;
  request.payload.context.environment = o.environment ? { name: o.environment.name, root: o.environment.root } : null;
  request.readablePaths = [moduleFile, ...(o.readable ?? [])];
  return request;
}

/** A launch request for a `bash` task. */
export function bashTry(project: TestProject, id: string, command: string, o: { resources?: Resources | null; environment?: ResolvedEnvironment | null } = {}): LaunchRequest {
  const request = launchRequest(path.join(project.config.stateDir, "tries"), {
    dagId: id, task: { ...serializedTask("t", "bash", { command }), backend: "sandbox" }, resources: o.resources ?? null,
    environment: o.environment ?? null,
  });
  request.payload.context.environment = o.environment ? { name: o.environment.name, root: o.environment.root } : null;
  return request;
}

/** What a try left: how it ended, its log, its events and its result (or error). */
export interface TryOutput {
  exit: ExitInfo;
  log: string;
  events: TaskEvent[];
  result: unknown;
  error: { type: string; message: string } | null;
}

/** Launches `request` on `backend` and waits for its end. */
export async function runTry(backend: Backend, request: LaunchRequest): Promise<TryOutput> {
  const running = await backend.launch(request);
  const exit = await running.exited;
  return readTry(request, exit);
}

/** Reads the output files of a finished try. */
export function readTry(request: LaunchRequest, exit: ExitInfo): TryOutput {
  const log = existsSync(request.rawLogPath) ? readFileSync(request.rawLogPath, "utf8") : "";
  const events = (existsSync(request.eventsPath) ? readFileSync(request.eventsPath, "utf8") : "")
    .split("\n").filter(Boolean).map((l) => JSON.parse(l) as TaskEvent);
  const result = events.find((e) => e.type === "result");
  const error = events.find((e) => e.type === "error");
  return {
    exit, log, events,
    result: result?.type === "result" && "inline" in result.value ? result.value.inline : undefined,
    error: error?.type === "error" ? { type: error.error.type, message: error.error.message } : null,
  };
}

/** Waits until `check` returns a value (polling); throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A check that throws counts as "not yet" (a try's output file may not exist in its first moments).
    let v: T | undefined | null | false;
    let error: unknown = null;
    try {
      v = check();
    } catch (err) {
      v = undefined;
      error = err;
    }
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${error ? ` (last check failed: ${(error as Error).message})` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Whether a process exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** A checked sandbox backend over a freshly bundled runner; `close()` releases both. */
export interface SandboxFixture {
  backend: Backend;
  distDir: string;
  /** Warm launch: every launch first starts a warm sandbox for its request, then launches (taking it when it can). */
  warm: boolean;
  /** Whether the last launch was handed to a warm sandbox. */
  lastLaunchWarm: boolean;
  /** The warm pool of a warm fixture. */
  pool: WarmPool | null;
  close(): Promise<void>;
}

/** How isolation suites run: every test once with cold and once with warm launch. */
export const LAUNCH_MODES = ["cold", "warm"] as const;

/** Bundles the runner and creates a sandbox backend for `project`, failing with the backend's hint if unusable. */
export async function startSandbox(project: TestProject, o: { warm?: boolean } = {}): Promise<SandboxFixture> {
  const { bundleRunner } = await import("./docker-runner.js");
  const { createSandboxBackend } = await import("../../src/backends/sandbox/index.js");
  const dist = await bundleRunner();
  // The suites launch tries of many keys (one per resource setting) one after another: the pool's caps (8 waiting
  // runners, 512 MiB of them, measured) would refuse a new key's runner depending on the memory the earlier keys'
  // runners happen to use, and that try would launch cold. The caps are tested in warm.launch; here they are high.
  const sandbox = createSandboxBackend(project.config, { distDir: dist.distDir, warm: o.warm ? { ...WARM_LAUNCH_DEFAULTS, enabled: true, maxProcesses: 64, maxMemoryMiB: 16_384 } : null });
  const check = await sandbox.check();
  if (!check.ok) {
    await sandbox.close();
    dist.cleanup();
    throw new Error(check.hint);
  }
  const fixture: SandboxFixture = {
    backend: sandbox, distDir: dist.distDir, warm: o.warm === true, lastLaunchWarm: false, pool: sandbox.warmPool,
    close: async () => {
      await sandbox.close();
      dist.cleanup();
    },
  };
  if (o.warm) {
    fixture.backend = {
      ...sandbox,
      launch: async (request) => {
        sandbox.prewarm(request);
        const running = await sandbox.launch(request);
        fixture.lastLaunchWarm = running.handle.warm === true;
        return running;
      },
    };
  }
  return fixture;
}
