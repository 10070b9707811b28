/**
 * A temporary Airlock project driven through the real CLI: `node bin/airlock.js ...` as a child process with the
 * project as its working directory, `airlock standalone --port 0` as a long-running child, and cleanup that kills
 * every process the project started (including task processes that outlived a killed orchestrator) and removes
 * the folder.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The `airlock` command. */
export const BIN = path.join(ROOT, "bin", "airlock.js");

/** What a finished CLI process left. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one CLI call. */
export interface CliOptions {
  /** Extra environment variables (on top of the project's). */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Kill the process after this long and fail. @default 120000 */
  timeoutMs?: number;
}

/** A CLI process that is still running (e.g. `tasks logs --follow`). */
export interface CliProcess {
  child: ChildProcess;
  /** Everything printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout matches `pattern`; rejects if the process ends first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the result once the process has ended. */
  done: Promise<CliResult>;
}

/** A running `airlock standalone`. */
export interface Standalone {
  child: ChildProcess;
  pid: number;
  /** Base URL of its API and UI, as printed. */
  url: string;
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL of the orchestrator process only: its tasks keep running, as after a crash. */
  kill9(): Promise<void>;
}

/** Options of a project. */
export interface ProjectOptions {
  /** DAG files by name, written into dags/. */
  dags?: Record<string, string>;
  /** Copy the repository's examples/dags into dags/ (and examples/environments into environments/). */
  examples?: boolean;
  /** Merged into airlock.config.json. */
  config?: Record<string, unknown>;
  /** Environment variables of every CLI process of the project. */
  env?: Record<string, string>;
}

/** A temporary project. */
export interface Project {
  dir: string;
  dagsDir: string;
  stateDir: string;
  /** The SQLite file of the store. */
  dbPath: string;
  /** Environment variables every CLI call gets (mutable). */
  env: Record<string, string>;
  /** Writes (or replaces) dags/<name>; returns its path. */
  writeDag(name: string, source: string): string;
  /** Writes a file relative to the project; returns its path. */
  writeFile(rel: string, content: string): string;
  /** Runs the CLI to its end. */
  cli(args: string[], options?: CliOptions): Promise<CliResult>;
  /** Runs the CLI and parses stdout as JSON (throws with the output when it is not JSON). */
  cliJson<T = any>(args: string[], options?: CliOptions): Promise<CliResult & { json: T }>;
  /** Starts the CLI and returns at once. */
  spawnCli(args: string[], options?: CliOptions): CliProcess;
  /** Starts `airlock standalone --port 0` and waits for the URL it prints. */
  startStandalone(options?: { env?: Record<string, string> }): Promise<Standalone>;
  /** Kills every process of the project and removes its folder. Idempotent. */
  cleanup(): Promise<void>;
}

const live = new Set<Project>();

/** Fast scheduling for tests, and new DAGs unpaused (tests start them at once); a project's config may override. */
const TEST_CONFIG = { dagsFolder: "dags", environmentsFolder: "environments", scheduler: { pollIntervalMs: 250, parseIntervalMs: 500, dagsArePausedAtCreation: false } };

/** The test process's environment without Airlock settings, so a developer's shell cannot change a test. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("AIRLOCK") || k.startsWith("VITEST") || k === "NODE_OPTIONS") continue;
    env[k] = v;
  }
  return env;
}

/** Creates a project in a fresh temp folder. */
export function createProject(options: ProjectOptions = {}): Project {
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-e2e-"));
  const dagsDir = path.join(dir, "dags");
  mkdirSync(dagsDir);
  mkdirSync(path.join(dir, "environments"));
  const config = { ...TEST_CONFIG, ...options.config, scheduler: { ...TEST_CONFIG.scheduler, ...(options.config?.scheduler as object | undefined) } };
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify(config, null, 2));
  if (options.examples) {
    cpSync(path.join(ROOT, "examples", "dags"), dagsDir, { recursive: true });
    const envs = path.join(ROOT, "examples", "environments");
    if (existsSync(envs)) cpSync(envs, path.join(dir, "environments"), { recursive: true });
  }
  for (const [name, source] of Object.entries(options.dags ?? {})) writeFileSync(path.join(dagsDir, name), source);
  const children = new Set<ChildProcess>();
  const stateDir = path.join(dir, ".airlock");

  const spawnCli = (args: string[], o: CliOptions = {}): CliProcess => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir, env: { ...baseEnv(), ...project.env, ...o.env }, stdio: ["pipe", "pipe", "pipe"],
    });
    children.add(child);
    let out = "";
    let err = "";
    const waiters: Array<() => void> = [];
    // Decoded as a stream: a character split between two pipe reads must not become two U+FFFD.
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (d: string) => {
      out += d;
      for (const w of [...waiters]) w();
    });
    child.stderr?.on("data", (d: string) => {
      err += d;
    });
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(o.input ?? "");
    const done = new Promise<CliResult>((resolve) => {
      child.once("close", (code, signal) => {
        children.delete(child);
        for (const w of [...waiters]) w();
        resolve({ code: code ?? (signal ? 128 : 1), stdout: out, stderr: err });
      });
    });
    let ended = false;
    void done.then(() => (ended = true));
    const waitFor = (pattern: RegExp, timeoutMs = 60_000) => new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out waiting for ${pattern} in the output of airlock ${args.join(" ")}:\n${out}\n${err}`)), timeoutMs);
      const check = () => {
        const m = out.match(pattern);
        if (m) finish(null, m);
        else if (ended || child.exitCode !== null) finish(new Error(`airlock ${args.join(" ")} ended before printing ${pattern}:\n${out}\n${err}`));
      };
      const finish = (e: Error | null, m?: RegExpMatchArray) => {
        clearTimeout(timer);
        const i = waiters.indexOf(check);
        if (i >= 0) waiters.splice(i, 1);
        if (e) reject(e);
        else resolve(m as RegExpMatchArray);
      };
      waiters.push(check);
      check();
    });
    return { child, stdout: () => out, stderr: () => err, waitFor, done };
  };

  const project: Project = {
    dir,
    dagsDir,
    stateDir,
    dbPath: path.join(stateDir, "airlock.db"),
    env: { ...options.env },
    writeDag(name, source) {
      const file = path.join(dagsDir, name);
      writeFileSync(file, source);
      return file;
    },
    writeFile(rel, content) {
      const file = path.join(dir, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
      return file;
    },
    async cli(args, o = {}) {
      const p = spawnCli(args, o);
      const timeoutMs = o.timeoutMs ?? 120_000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          killProcessTree(p.child.pid);
          reject(new Error(`airlock ${args.join(" ")} did not end within ${timeoutMs} ms:\n${p.stdout()}\n${p.stderr()}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([p.done, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async cliJson(args, o) {
      const r = await project.cli(args, o);
      try {
        return { ...r, json: JSON.parse(r.stdout) };
      } catch {
        throw new Error(`airlock ${args.join(" ")} printed no JSON (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      }
    },
    spawnCli,
    async startStandalone(o = {}) {
      const p = spawnCli(["standalone", "--port", "0"], { env: o.env });
      const m = await p.waitFor(/web UI and API: (http:\/\/\S+?)\/?\s/, 90_000);
      const pid = p.child.pid as number;
      return {
        child: p.child,
        pid,
        url: (m[1] as string).replace(/\/$/, ""),
        output: () => p.stdout() + p.stderr(),
        async stop(graceMs = 15_000) {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return;
          p.child.kill("SIGTERM");
          const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
          await p.done;
          clearTimeout(timer);
        },
        async kill9() {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return;
          p.child.kill("SIGKILL");
          await p.done;
        },
      };
    },
    async cleanup() {
      if (!live.has(project)) return;
      live.delete(project);
      for (const child of children) killProcessTree(child.pid);
      await Promise.all([...children].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once("close", r)))));
      // Tasks run in their own process groups and may outlive a killed orchestrator: find them by the project folder.
      for (let round = 0; round < 5 && killProjectProcesses(dir) > 0; round++) await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(project);
  return project;
}

/** Cleans up every project that is still alive (for afterAll hooks of suites that create many). */
export async function cleanupProjects(): Promise<void> {
  await Promise.all([...live].map((p) => p.cleanup()));
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => T | Promise<T>, timeoutMs = 60_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(everyMs);
  }
}

/** Processes whose command line contains `marker` (read from /proc; the test process itself excluded). */
export function processesWithMarker(marker: string): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (isZombie(Number(entry))) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      if (cmdline.includes(marker)) out.push({ pid: Number(entry), cmdline });
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

/** Processes whose argv[0] starts with `prefix` (as set with bash's `exec -a NAME command`). */
export function processesNamed(prefix: string): Array<{ pid: number; cmdline: string }> {
  return processesWithMarker(prefix).filter((p) => p.cmdline.startsWith(prefix));
}

function isZombie(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}

/** Processes that belong to a project: working directory, command line or environment inside its folder. */
export function projectProcesses(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!/^\d+$/.test(entry) || pid === process.pid) continue;
    try {
      if (isZombie(pid)) continue;
      let cwd = "";
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // Not ours to read.
      }
      const inside = cwd === dir || cwd.startsWith(`${dir}/`)
        || readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)
        || readFileSync(`/proc/${pid}/environ`, "utf8").includes(dir);
      if (inside) out.push(pid);
    } catch {
      // Gone, or not ours.
    }
  }
  return out;
}

function killProjectProcesses(dir: string): number {
  const pids = projectProcesses(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  return pids.length;
}

/** SIGKILLs a process and all its descendants (found through /proc). */
export function killProcessTree(pid: number | undefined): void {
  if (pid === undefined) return;
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone.
    }
  }
  const all: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    all.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  for (const p of all) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
