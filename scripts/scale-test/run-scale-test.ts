/**
 * `npm run scale-test`: two capserve replicas, two queue workers, redis-server and PostgreSQL
 * behind HAProxy on loopback, under steady load; a rolling restart, a replica and a worker
 * killed, one rate limit across the replicas. Prints a table; exits 1 when an invariant broke.
 * Needs redis-server, haproxy and PostgreSQL (TEST_DATABASE_URL, or `.ci/start-postgres.sh`).
 *
 *   npm run scale-test -- [--clients 8] [--job-interval-ms 500] [--steady-ms 2000] [--json]
 */
import { parseArgs } from 'node:util';
import { formatReport } from './report.js';
import { runScaleTest } from './scale-test.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '8' },
    'job-interval-ms': { type: 'string', default: '500' },
    'steady-ms': { type: 'string', default: '2000' },
    json: { type: 'boolean', default: false },
  },
});

const started = Date.now();
const report = await runScaleTest({
  clients: Number(values.clients),
  jobIntervalMs: Number(values['job-interval-ms']),
  steadyMs: Number(values['steady-ms']),
  log: (line) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`),
});
process.stdout.write(`${values.json ? JSON.stringify(report, (key, value: unknown) => (key === 'latenciesMs' ? undefined : value), 2) : formatReport(report)}\n`);
process.exit(report.ok ? 0 : 1);
