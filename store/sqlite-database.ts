import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type SqlDatabase, type SqlExecutor, type SqlParams } from './sql-database.js';

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * better-sqlite3 behind the async `SqlDatabase` seam. Statements run synchronously on one
 * connection; the promises only make it interchangeable with PostgreSQL.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #tx: SqlExecutor = {
    run: async (sql, params) => this.#run(sql, params),
    all: async <Row>(sql: string, params?: SqlParams) => this.#all<Row>(sql, params),
  };
  /**
   * Settles when the open transaction ends; undefined when none is open. The connection is
   * shared, so a statement issued while a transaction's `fn` awaits would land inside that
   * transaction (and be rolled back with it): every entry point waits for this first, then
   * acts with no `await` between the check and the statement, or another caller could slip in.
   */
  #transaction: Promise<void> | undefined;
  /** The tail of each named lock's queue (see exclusive). */
  readonly #locks = new Map<string, Promise<void>>();

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Opens (creating) the file at `file`, and its folder; `:memory:` gives a private in-memory database. */
  static async open(file: string): Promise<SqliteDatabase> {
    const inMemory = file === ':memory:';
    if (!inMemory) await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file);
    try {
      // WAL lets readers in other processes (a CLI, a backup) run beside the server's writes.
      if (!inMemory) db.pragma('journal_mode = WAL');
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqliteDatabase(db);
  }

  async run(sql: string, params?: SqlParams): Promise<{ changes: number }> {
    while (this.#transaction !== undefined) await this.#transaction;
    return this.#run(sql, params);
  }

  async all<Row>(sql: string, params?: SqlParams): Promise<Row[]> {
    while (this.#transaction !== undefined) await this.#transaction;
    return this.#all<Row>(sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    while (this.#transaction !== undefined) await this.#transaction;
    let end!: () => void;
    this.#transaction = new Promise((resolve) => (end = resolve));
    try {
      // IMMEDIATE takes the write lock now, so two processes cannot both read and then both write.
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.#tx);
        this.#db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.#transaction = undefined;
      end();
    }
  }

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(name) ?? Promise.resolve();
    const result = previous.then(fn);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(name, settled);
    void settled.then(() => {
      if (this.#locks.get(name) === settled) this.#locks.delete(name);
    });
    return result;
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    while (this.#transaction !== undefined) await this.#transaction;
    this.#db.close();
  }

  #run(sql: string, params: SqlParams = []): { changes: number } {
    return { changes: this.#prepare(sql).run(...params).changes };
  }

  #all<Row>(sql: string, params: SqlParams = []): Row[] {
    return this.#prepare(sql).all(...params) as Row[];
  }

  /** The store issues a few dozen distinct statements; preparing each once saves parsing them per call. */
  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
