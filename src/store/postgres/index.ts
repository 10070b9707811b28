/** Postgres adapter: a connection pool; writers serialise on a transaction-scoped advisory lock. */
import pg from "pg";
import { Kysely, PostgresDialect, sql } from "kysely";
import type { Database as Schema } from "../schema.js";
import type { DialectAdapter, Db } from "../kysely-store.js";
import { ChangeListener } from "./listener.js";

// Arbitrary constants naming Airlock's advisory locks.
const WRITE_LOCK = 7_321_001;
const MIGRATION_LOCK = 7_321_002;

/** Connects to Postgres at `url`. */
export function createPostgresAdapter(url: string): DialectAdapter {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // Quiet idle-client errors (e.g. server restart); queries surface their own errors.
  pool.on("error", () => undefined);
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  const locked = <T>(lock: number, fn: (db: Db) => Promise<T>): Promise<T> =>
    db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${lock})`.execute(trx);
      return fn(trx);
    });
  const listener = new ChangeListener(url);
  return {
    dialect: "postgres",
    db,
    exclusive: (fn) => locked(WRITE_LOCK, fn),
    runMigrations: (apply) => locked(MIGRATION_LOCK, apply),
    watchChanges: (onSignal) => listener.subscribe(onSignal),
    close: async () => {
      await listener.close();
      await db.destroy();
    },
  };
}
