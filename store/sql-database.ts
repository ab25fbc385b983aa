/**
 * The seam between the one SQL store and its drivers (SQLite, PostgreSQL). SQL is written once
 * with `?` placeholders; a driver rewrites them if its database wants another form.
 */

/** A bound parameter: JSON goes in as text, booleans as 0/1. */
export type SqlValue = string | number | null;
export type SqlParams = readonly SqlValue[];

/** Runs statements; inside `transaction` it is the transaction's own connection. */
export interface SqlExecutor {
  /** A statement that returns no rows; `changes` is how many rows it wrote. */
  run(sql: string, params?: SqlParams): Promise<{ changes: number }>;
  /** A statement that returns rows (a SELECT, or an INSERT ... RETURNING). */
  all<Row>(sql: string, params?: SqlParams): Promise<Row[]>;
}

export interface TransactionOptions {
  /**
   * Serialises this transaction with every other one naming the same key, across processes too.
   * PostgreSQL needs it where READ COMMITTED would let two transactions miss each other's new rows;
   * SQLite serialises all writers anyway.
   */
  readonly lock?: string;
}

export interface SqlDatabase extends SqlExecutor {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it rejects. Use only
   * the executor it is given; calling the database itself from inside waits for the transaction
   * to end, which never happens.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `fn` while holding the lock `name`, which any number of statements (not one
   * transaction) may run under: on PostgreSQL a session advisory lock, so it holds across every
   * process on the database; on SQLite across the callers of this database object only.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}
