/** Shared benchmark helpers: rows, percentiles, temp projects on the built orchestrator. */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** One line of the results table. */
export interface BenchRow {
  suite: string;
  name: string;
  value: number;
  unit: string;
  goal?: string;
  /** Why the row has no figure (value NaN, written as null in the JSON), e.g. "n/a: no warm launch on docker …". */
  note?: string;
}

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The p-th percentile (0..100) of samples. */
export function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** Milliseconds to start and end one Node process (`node -e 0`), spawned asynchronously as the executor does; p50 of n. */
export async function nodeStartMs(n = 21): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
      child.once("error", reject);
      child.once("exit", () => resolve());
    });
    samples.push(performance.now() - t);
  }
  return percentile(samples, 50);
}

/** A temp project with the given DAG files; returns its folder. */
export function tempProject(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "airlock-bench-"));
  writeFileSync(path.join(dir, "airlock.config.json"), JSON.stringify({ scheduler: { pollIntervalMs: 1000, dagsArePausedAtCreation: false }, executor: { parallelism: 16 } }));
  mkdirSync(path.join(dir, "dags"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, "dags", name), text);
  return dir;
}

/** Removes a temp project. */
export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Builds Airlock when dist/ is missing. */
export function ensureBuilt(): void {
  try {
    execFileSync(process.execPath, [path.join(ROOT, "scripts", "build.mjs")], { stdio: "ignore", env: { ...process.env, AIRLOCK_SKIP_UI: "1" } });
  } catch (err) {
    throw new Error(`build failed: ${(err as Error).message}`);
  }
}

/** A fresh database on the shared test Postgres (scripts/setup-postgres.sh starts it when needed); `drop` removes it. */
export async function benchPostgres(prefix = "airlock_bench"): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = execFileSync("bash", [path.join(ROOT, "scripts", "setup-postgres.sh")], { stdio: ["ignore", "pipe", "inherit"] }).toString().trim().split("\n").pop() ?? "";
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const { default: pg } = await import("pg");
  const sql = async (q: string) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  await sql(`create database "${name}"`);
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => sql(`drop database if exists "${name}" with (force)`) };
}

/** A child process that prints "ready", waits for a line on stdin, works, and prints one JSON line. */
export interface ReadyChild {
  ready: Promise<void>;
  go(): void;
  result: Promise<unknown>;
}

/** Starts a TypeScript file of bench/ under tsx as a {@link ReadyChild}. */
export function startReadyChild(file: string, args: string[]): ReadyChild {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "bench", file), ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    if (out.startsWith("ready\n")) markReady();
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stdin.on("error", () => undefined);
  const result = new Promise<unknown>((resolve, reject) => {
    child.once("close", (code) => {
      markReady();
      if (code !== 0) return reject(new Error(`${file} exited with ${code}: ${err.trim()}`));
      resolve(JSON.parse(out.trim().split("\n").pop() ?? "null"));
    });
  });
  return { ready, go: () => child.stdin.end("go\n"), result };
}
