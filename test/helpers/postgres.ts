import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Test } from 'tap';

/**
 * A fresh PostgreSQL schema on TEST_DATABASE_URL for this test, dropped at teardown; undefined
 * (the test skipped) when no URL is set outside CI, a failure when none is set under CI=true.
 */
export function postgresSchema(t: Test, prefix: string): { readonly url: string; readonly schema: string } | undefined {
  const url = process.env.TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    if (process.env.CI === 'true') t.fail('TEST_DATABASE_URL is not set: .ci/run starts PostgreSQL and sets it');
    else t.skip('TEST_DATABASE_URL is not set (bash .ci/start-postgres.sh prints one)', () => {});
    return undefined;
  }
  const schema = `capserve_${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  return { url, schema };
}
