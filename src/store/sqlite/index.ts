/** SQLite adapter: one WAL-mode database file; writers serialise with BEGIN IMMEDIATE and a busy timeout. */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Kysely, SqliteDialect, sql } from "kysely";
import type { Database as Schema } from "../schema.js";
import type { DialectAdapter, Db } from "../kysely-store.js";

/** Opens (creating if needed) the SQLite database at `file`. */
export function createSqliteAdapter(file: string): DialectAdapter {
  mkdirSync(path.dirname(file), { recursive: true });
  const raw = new Database(file);
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  raw.pragma("busy_timeout = 30000");
  raw.pragma("foreign_keys = ON");
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: raw }) });
  // Kysely's SQLite driver has a single connection guarded by a mutex, so within this process `exclusive` calls
  // queue up; BEGIN IMMEDIATE takes the write lock up front so that processes never deadlock on lock upgrades.
  const exclusive = async <T>(fn: (db: Db) => Promise<T>): Promise<T> =>
    db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
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
