/**
 * One SQLite connection shared by two Kysely handles: the normal lane, and a priority lane for liveness writes
 * (heartbeats) whose waiters go before every normal waiter. Kysely's own SQLite driver queues every caller of the
 * single connection behind one mutex: with 10,000 mapped instances being claimed, finished and evaluated, a
 * heartbeat waited behind the whole queue, longer than the worker timeout, and the worker was declared lost.
 * With the lanes a heartbeat waits for at most the statement or transaction running now.
 */
import type Database from "better-sqlite3";
import {
  CompiledQuery, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult,
} from "kysely";

/** A FIFO lock with a priority queue served first. */
export class LaneMutex {
  private held = false;
  private readonly urgent: Array<() => void> = [];
  private readonly normal: Array<() => void> = [];

  lock(urgent: boolean): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => (urgent ? this.urgent : this.normal).push(resolve));
  }

  unlock(): void {
    const next = this.urgent.shift() ?? this.normal.shift();
    if (next) next();
    else this.held = false;
  }

  /** Callers waiting in the normal lane (tests). */
  get waiting(): number {
    return this.normal.length;
  }
}

class Connection implements DatabaseConnection {
  constructor(private readonly raw: Database.Database) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.raw.prepare(compiled.sql);
    const parameters = compiled.parameters as unknown[];
    if (stmt.reader) return Promise.resolve({ rows: stmt.all(parameters) as R[] });
    const { changes, lastInsertRowid } = stmt.run(parameters);
    return Promise.resolve({ numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] });
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("the SQLite store does not stream queries");
  }
}

class LaneDriver implements Driver {
  constructor(private readonly conn: Connection, private readonly mutex: LaneMutex, private readonly urgent: boolean, private readonly close: () => void) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock(this.urgent);
    return this.conn;
  }
  async beginTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw("begin"));
  }
  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw("commit"));
  }
  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw("rollback"));
  }
  async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }
  async destroy(): Promise<void> {
    this.close();
  }
}

/** The two lanes' dialects over one connection; only the normal lane's `destroy` closes the database. */
export function sqliteLanes(raw: Database.Database): { mutex: LaneMutex; normal: Dialect; urgent: Dialect } {
  const mutex = new LaneMutex();
  const conn = new Connection(raw);
  const dialect = (urgent: boolean): Dialect => ({
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new LaneDriver(conn, mutex, urgent, urgent ? () => undefined : () => raw.close()),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createIntrospector: (db: Kysely<unknown>) => new SqliteIntrospector(db),
  });
  return { mutex, normal: dialect(false), urgent: dialect(true) };
}
