/**
 * SQLite adapter: one WAL-mode database file; writers serialise with BEGIN IMMEDIATE. The write lock is waited for
 * asynchronously: SQLite's own busy handler sleeps inside the (synchronous) driver call, which would freeze this
 * process's event loop, and deadlock it outright when another handle in the same process holds the lock.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Kysely, SqliteDialect, sql } from "kysely";
import type { Database as Schema } from "../schema.js";
import type { DialectAdapter, Db } from "../kysely-store.js";

/** How long a writer waits for another writer (in any process) before giving up. */
const LOCK_WAIT_MS = 30_000;
/** Busy timeout of statements outside `exclusive` (WAL readers rarely wait; stray writers briefly). */
const BUSY_TIMEOUT_MS = 5_000;

/** The database stayed locked by another writer for longer than the store waits. */
export class SqliteLockTimeoutError extends Error {
  override name = "SqliteLockTimeoutError";
  constructor(file: string, options: { cause: unknown }) {
    super(`The SQLite store ${file} stayed locked by another writer for ${LOCK_WAIT_MS / 1000}s. `
      + "Check for a process stuck in a transaction (or a tool holding the file open), or move to a postgres:// store for heavy concurrency.", options);
  }
}

const isBusy = (err: unknown): boolean => typeof (err as { code?: unknown }).code === "string" && (err as { code: string }).code.startsWith("SQLITE_BUSY");

/** Opens (creating if needed) the SQLite database at `file`. */
export function createSqliteAdapter(file: string): DialectAdapter {
  mkdirSync(path.dirname(file), { recursive: true });
  const raw = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  raw.pragma("foreign_keys = ON");
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: raw }) });

  // Tries BEGIN IMMEDIATE without SQLite's blocking busy handler and retries on a timer, so the event loop (and
  // any other handle of this process that holds the lock) keeps running while this one waits.
  const beginImmediate = async (): Promise<void> => {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      raw.pragma("busy_timeout = 0");
      try {
        raw.exec("begin immediate");
        return;
      } catch (err) {
        if (!isBusy(err)) throw err;
        if (Date.now() >= deadline) throw new SqliteLockTimeoutError(file, { cause: err });
      } finally {
        raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
      // Jittered backoff so that several waiting processes do not retry in lockstep.
      await sleep(Math.min(2 ** attempt, 20) * (0.5 + Math.random()));
    }
  };

  // Kysely's SQLite driver has a single connection guarded by a mutex, so within this handle `exclusive` calls
  // queue up; BEGIN IMMEDIATE takes the write lock up front so that processes never deadlock on lock upgrades.
  const exclusive = async <T>(fn: (db: Db) => Promise<T>): Promise<T> =>
    db.connection().execute(async (conn) => {
      await beginImmediate();
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
    });
  return {
    dialect: "sqlite",
    db,
    exclusive,
    runMigrations: (apply) => exclusive(apply),
    close: async () => {
      await db.destroy();
    },
  };
}
