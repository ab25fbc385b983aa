import { CapserveError } from '../core/errors.js';
import { isValidSchemaName, PostgresDatabase } from './postgres-database.js';
import { SqliteDatabase } from './sqlite-database.js';
import { SqlStore } from './sql-store.js';
import { type Store } from './types.js';

export interface OpenStoreOptions {
  /**
   * `postgres://` or `postgresql://` selects PostgreSQL; no other scheme is accepted.
   * @default SQLite at `sqlitePath`
   */
  readonly databaseUrl?: string;
  /** The SQLite file (its folder is created), or `:memory:`. Used when `databaseUrl` is unset or empty. */
  readonly sqlitePath: string;
  /**
   * PostgreSQL schema for the tables, created when missing.
   * @default the connection's search_path (normally `public`)
   */
  readonly postgresSchema?: string;
}

/** Opens the configured database and brings its schema up to date. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const url = options.databaseUrl ?? '';
  if (url === '') return SqlStore.open(await SqliteDatabase.open(options.sqlitePath));
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new CapserveError('CONFIG_INVALID', `DATABASE_URL must be a postgres:// or postgresql:// URL, not ${redactUrl(url)}`);
  }
  const schema = options.postgresSchema;
  if (schema !== undefined && !isValidSchemaName(schema)) {
    throw new CapserveError('CONFIG_INVALID', `the PostgreSQL schema must be lower-case letters, digits and _ (at most 63), not ${JSON.stringify(schema)}`);
  }
  return SqlStore.open(await PostgresDatabase.open(url, schema === undefined ? {} : { schema }));
}

/**
 * `url` as scheme, host and path only, safe for messages and logs: user name and password,
 * query (`?password=`) and fragment go. Anything without a host (unparseable, or opaque like
 * `mysql:user:secret@...`) may hide a password anywhere, so only its scheme is shown.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    return scheme === undefined ? 'a value that is not a URL' : `a ${scheme}: URL`;
  }
  if (parsed.host === '') return `a ${parsed.protocol} URL`;
  const credentials = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
  return `${parsed.protocol}//${credentials}${parsed.host}${parsed.pathname}`;
}
