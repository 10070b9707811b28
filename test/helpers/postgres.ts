/**
 * Postgres for the test suites: a real server started (or reused) by scripts/setup-postgres.sh, and a fresh
 * database per test file, dropped afterwards. Nothing is skipped: when the server cannot be had, the suite fails
 * with the script's output as the reason.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPT = path.join(ROOT, "scripts", "setup-postgres.sh");
const PORT = process.env.AIRLOCK_PG_PORT ?? "55432";
// Test files run in separate workers; the marker lets all but the first skip the script.
const MARKER = path.join(os.tmpdir(), `airlock-test-pg-${PORT}.url`);

let adminUrl: Promise<string> | undefined;

/** A database created for one test file. */
export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database (closing whatever connections remain); idempotent. */
  drop(): Promise<void>;
}

/** Runs `fn` with a connected client and always closes it. */
export async function withPgClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    await withPgClient(url, (c) => c.query("select 1"));
    return true;
  } catch {
    return false;
  }
}

async function runScript(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)("bash", [SCRIPT], { timeout: 900_000, maxBuffer: 16 * 1024 * 1024 });
    const url = stdout.trim().split("\n").pop() ?? "";
    if (!url.startsWith("postgres://")) throw new Error(`it printed no URL: ${JSON.stringify(stdout)}`);
    return url;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`scripts/setup-postgres.sh failed, so the Postgres tests cannot run: ${e.stderr?.trim() || e.stdout?.trim() || e.message}`, { cause: err });
  }
}

async function startOnce(): Promise<string> {
  let cached = "";
  try {
    cached = readFileSync(MARKER, "utf8").trim();
  } catch {
    // No marker yet: this is the first file of the run (or the machine was reset).
  }
  if (cached && (await answers(cached))) return cached;
  const url = await runScript();
  if (!(await answers(url))) throw new Error(`scripts/setup-postgres.sh printed ${url}, but nothing answers there; see its server.log under the OS temp dir`);
  mkdirSync(path.dirname(MARKER), { recursive: true });
  const tmp = `${MARKER}.${process.pid}`;
  writeFileSync(tmp, `${url}\n`);
  renameSync(tmp, MARKER);
  return url;
}

/** URL of the shared test database on the running server; starts the server on first use. */
export function ensurePostgres(): Promise<string> {
  adminUrl ??= startOnce().catch((err: unknown) => {
    adminUrl = undefined;
    throw err;
  });
  return adminUrl;
}

/** Creates an empty database with a random name on the test server. */
export async function createTestDatabase(prefix = "airlock_t"): Promise<TestDatabase> {
  const admin = await ensurePostgres();
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await withPgClient(admin, (c) => c.query(`create database "${name}"`));
  const url = new URL(admin);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      // FORCE: a store a failed test left open must not keep the database alive.
      await withPgClient(admin, (c) => c.query(`drop database if exists "${name}" with (force)`));
    },
  };
}
