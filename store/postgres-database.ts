import pg from 'pg';
import { type SqlDatabase, type SqlExecutor, type SqlParams, type TransactionOptions } from './sql-database.js';

export interface PostgresOptions {
  /**
   * A schema to keep the tables in, created when missing and put first on every connection's
   * `search_path`; lets tests (or two deployments) share one database. Lower-case letters,
   * digits and `_` only, since it is spliced into SQL and the connection's startup options.
   * @default the database's own search_path (normally `public`)
   */
  readonly schema?: string;
  /**
   * Errors of idle pooled connections (the server restarted, the network dropped). The pool
   * replaces the client; the next query reports a lasting failure itself.
   * @default ignored
   */
  readonly onIdleError?: (error: Error) => void;
}

/** Whether `schema` can be used as `PostgresOptions.schema`. */
export function isValidSchemaName(schema: string): boolean {
  return /^[a-z_][a-z0-9_]{0,62}$/.test(schema);
}

/**
 * BIGINT columns hold epoch milliseconds and counters, far below 2^53, so they come back as
 * numbers. Set on this pool only: pg's global parsers belong to every other user of pg.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => (oid === pg.types.builtins.INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)),
};

/** A `pg` pool behind the `SqlDatabase` seam. */
export class PostgresDatabase implements SqlDatabase {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  #closed = false;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects (checking the URL and credentials now rather than at the first query) and creates `schema`. */
  static async open(connectionString: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
    const { schema } = options;
    if (schema !== undefined && !isValidSchemaName(schema)) throw new RangeError(`invalid PostgreSQL schema name: ${JSON.stringify(schema)}`);
    const pool = new pg.Pool({
      connectionString,
      types,
      ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    });
    const onIdleError = options.onIdleError ?? (() => {});
    // An 'error' event without a listener would crash the process.
    pool.on('error', onIdleError);
    try {
      await pool.query(schema === undefined ? 'SELECT 1' : `CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresDatabase(pool);
  }

  async run(sql: string, params?: SqlParams): Promise<{ changes: number }> {
    return run(this.#pool, sql, params);
  }

  async all<Row>(sql: string, params?: SqlParams): Promise<Row[]> {
    return all<Row>(this.#pool, sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      if (options.lock !== undefined) await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [options.lock]);
      const result = await fn({ run: (sql, params) => run(client, sql, params), all: <Row>(sql: string, params?: SqlParams) => all<Row>(client, sql, params) });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A client whose ROLLBACK failed is in an unknown state; release(true) discards it.
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    // A client of its own holds the session lock while `fn` uses the rest of the pool.
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => (broken = true));
      }
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

type Queryable = Pick<pg.Pool, 'query'>;

async function run(db: Queryable, sql: string, params: SqlParams = []): Promise<{ changes: number }> {
  const result = await db.query(numberPlaceholders(sql), [...params]);
  return { changes: result.rowCount ?? 0 };
}

async function all<Row>(db: Queryable, sql: string, params: SqlParams = []): Promise<Row[]> {
  const result = await db.query(numberPlaceholders(sql), [...params]);
  return result.rows as Row[];
}

const numbered = new Map<string, string>();

/** `?` → `$1..$n`, leaving quoted strings and identifiers alone; cached, since the store reuses a few dozen statements. */
export function numberPlaceholders(sql: string): string {
  let rewritten = numbered.get(sql);
  if (rewritten !== undefined) return rewritten;
  let n = 0;
  rewritten = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\?/g, (match) => (match === '?' ? `$${++n}` : match));
  numbered.set(sql, rewritten);
  return rewritten;
}
