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
  // Heartbeats get their own connection: behind a busy write lock or a full pool they would arrive late, and a
  // live worker would be declared lost.
  const livePool = new pg.Pool({ connectionString: url, max: 1 });
  livePool.on("error", () => undefined);
  const live = new Kysely<Schema>({ dialect: new PostgresDialect({ pool: livePool }) });
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
    liveness: (fn) => fn(live),
    close: async () => {
      await listener.close();
      await Promise.all([db.destroy(), live.destroy()]);
    },
  };
}
