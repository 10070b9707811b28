/**
 * SQLite adapter: one WAL-mode database file; writers serialise with BEGIN IMMEDIATE. The write lock is waited for
 * asynchronously: SQLite's own busy handler sleeps inside the (synchronous) driver call, which would freeze this
 * process's event loop, and deadlock it outright when another handle in the same process holds the lock.
 */
import Database from "better-sqlite3";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Kysely, sql } from "kysely";
import type { Database as Schema } from "../schema.js";
import type { DialectAdapter, Db } from "../kysely-store.js";
import { touchWakeFile, wakeFileOf, watchWakeFile } from "./wake-file.js";
import { sqliteLanes } from "./lanes.js";

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

/** Runs `attempt` until it does not fail with SQLITE_BUSY, waiting on a timer between tries. */
async function whileBusy(file: string, attempt: () => void): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let n = 0; ; n++) {
    try {
      attempt();
      return;
    } catch (err) {
      if (!isBusy(err)) throw err;
      if (Date.now() >= deadline) throw new SqliteLockTimeoutError(file, { cause: err });
    }
    // Jittered backoff so that several waiting processes do not retry in lockstep.
    await sleep(Math.min(2 ** n, 20) * (0.5 + Math.random()));
  }
}

/**
 * Creates the database file owner-only before SQLite does (SQLite gives its -wal and -shm files the database file's
 * mode), and narrows the modes of files an older version created world-readable.
 */
function makePrivate(file: string): void {
  closeSync(openSync(file, "a", 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}

/** Statements kept prepared per connection; the store's queries are a few dozen distinct texts. */
const STATEMENT_CACHE = 256;

/**
 * The connection as Kysely sees it, with prepared statements reused by SQL text: preparing (parsing and planning)
 * cost more than running most of the store's queries. Kysely's driver runs one query at a time per connection, so a
 * cached statement is never in use twice.
 */
function withStatementCache(raw: Database.Database): Database.Database {
  const cache = new Map<string, Database.Statement>();
  const prepare = (text: string): Database.Statement => {
    let stmt = cache.get(text);
    if (stmt) {
      // Most recently used last, so the oldest is dropped first.
      cache.delete(text);
      cache.set(text, stmt);
      return stmt;
    }
    stmt = raw.prepare(text);
    cache.set(text, stmt);
    if (cache.size > STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
    return stmt;
  };
  return new Proxy(raw, {
    get(target, prop, receiver) {
      if (prop === "prepare") return prepare;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Opens (creating if needed) the SQLite database at `file`. */
export async function createSqliteAdapter(file: string): Promise<DialectAdapter> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  makePrivate(file);
  const raw = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    // Switching a new database to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY at once (without
    // its busy handler) when another process is switching it too: the first open of a database can race.
    await whileBusy(file, () => raw.pragma("journal_mode = WAL"));
    raw.pragma("synchronous = NORMAL");
    raw.pragma("foreign_keys = ON");
  } catch (err) {
    raw.close();
    throw err;
  }
  // Heartbeats take the priority lane of the one connection (see lanes.ts); everything else the normal one.
  const lanes = sqliteLanes(withStatementCache(raw));
  const db = new Kysely<Schema>({ dialect: lanes.normal });
  const urgentDb = new Kysely<Schema>({ dialect: lanes.urgent });

  // A temporary trigger (this connection only) flags transactions that append to the change feed; after they
  // commit, the wake file tells other processes to read the feed. Lease renewals and the like wake nobody.
  const wakeFile = wakeFileOf(path.resolve(file));
  let appended = false;
  raw.function("airlock_change_appended", () => {
    appended = true;
    return null;
  });
  // Before the first migration there is no change feed yet; the trigger is installed again after migrating.
  const installWakeTrigger = () => {
    const feed = raw.prepare("select 1 from sqlite_master where type = 'table' and name = 'changes'").get();
    if (feed) raw.exec("create temp trigger if not exists airlock_changes_wake after insert on main.changes begin select airlock_change_appended(); end");
  };
  installWakeTrigger();

  // BEGIN IMMEDIATE without SQLite's blocking busy handler, retried on a timer, so the event loop (and any other
  // handle of this process that holds the lock) keeps running while this one waits.
  const noWait = raw.prepare("pragma busy_timeout = 0");
  const wait = raw.prepare(`pragma busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const begin = raw.prepare("begin immediate");
  const beginImmediate = () => whileBusy(file, () => {
    noWait.run();
    try {
      begin.run();
    } finally {
      wait.run();
    }
  });

  // Kysely's SQLite driver has a single connection guarded by a mutex, so within this handle `exclusive` calls
  // queue up; BEGIN IMMEDIATE takes the write lock up front so that processes never deadlock on lock upgrades.
  const exclusiveOn = async <T>(lane: Kysely<Schema>, fn: (db: Db) => Promise<T>): Promise<T> =>
    lane.connection().execute(async (conn) => {
      await beginImmediate();
      try {
        appended = false;
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        if (appended) touchWakeFile(wakeFile);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      } finally {
        appended = false;
      }
    });
  const exclusive = <T>(fn: (db: Db) => Promise<T>): Promise<T> => exclusiveOn(db, fn);
  return {
    dialect: "sqlite",
    db,
    exclusive,
    runMigrations: async (apply) => {
      await exclusive(apply);
      installWakeTrigger();
    },
    watchChanges: async (onSignal) => {
      const stop = watchWakeFile(wakeFile, onSignal);
      return async () => stop();
    },
    liveness: (fn) => exclusiveOn(urgentDb, fn),
    close: async () => {
      await urgentDb.destroy();
      await db.destroy();
    },
  };
}
