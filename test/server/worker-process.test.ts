import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import t from 'tap';
import { projectRoot as findProjectRoot } from '../../core/project-root.js';

const projectRoot = findProjectRoot();
import { untilFinished } from '../helpers/job-http.js';
import { startRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';
import { freePort } from '../../scripts/free-port.js';
import { runEntryPoint } from '../helpers/server-process.js';

/**
 * The scale-out path with the real entry points, as an operator runs them: a server that only
 * fronts the queues (QUEUE_LOCAL_WORKERS=0) and a separate `server/worker.ts` process that runs
 * the jobs. A model-free capability (language-id) keeps start-up fast.
 */

const longText = Array.from({ length: 60 }, () => 'The parcel arrived two days late and nobody answered my emails.').join(' ');

t.test('the worker refuses to start without REDIS_URL', async (t) => {
  const env = { ...process.env };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'server', 'worker.ts')], { cwd: projectRoot, env });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  t.equal(code, 1);
  t.match(output, /REDIS_URL must be set/);
});

const redis = await startRedis(t);

if (redis !== undefined) {
  t.test('npm run worker serves the queues of a server on another process', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'capserve-worker-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const config = path.join(dir, 'capabilities.json');
    await writeFile(config, JSON.stringify({ models: [], capabilities: [{ name: 'language', kind: 'language-id' }] }));
    const port = await freePort();
    const common = { REDIS_URL: redis.url, CAPABILITIES_CONFIG: config, MAX_INLINE_TOKENS: '64' };
    const server = runEntryPoint(t, 'main.ts', { ...common, HOST: '127.0.0.1', PORT: String(port), QUEUE_LOCAL_WORKERS: '0', WORKER_ID: 'front' });
    const worker = runEntryPoint(t, 'worker.ts', { ...common, WORKER_ID: 'far-worker' });
    const url = `http://127.0.0.1:${port}`;

    const startup = { timeoutMs: 30_000, intervalMs: 50 };
    await until(() => fetch(`${url}/health/ready`).then((r) => r.ok, () => false), { ...startup, what: () => `the server to be ready\n${server.output.slice(-2000)}` });
    await until(() => worker.output.includes('worker ready'), { ...startup, what: () => `the worker to be ready\n${worker.output.slice(-2000)}` });
    // The worker announces itself in Redis once ready; the front-end routes to it by its id.
    const client = new Redis(redis.url);
    t.teardown(() => client.quit());
    await until(async () => (await client.exists('capserve:workers:far-worker:gpu_fallback')) === 1, { ...startup, what: 'the worker heartbeat' });
    const response = await fetch(`${url}/process`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: longText, capabilities: ['language'] }),
    });
    const accepted = (await response.json()) as Record<string, any>;
    t.equal(response.status, 202);
    t.equal(accepted.route.routing.worker, 'far-worker:gpu_fallback', JSON.stringify(accepted.route));
    const job = await untilFinished(async () => {
      const response = await fetch(`${url}/jobs/${accepted.jobId}`);
      return { status: response.status, body: await response.json() };
    }, `/jobs/${accepted.jobId}`, 30_000);
    t.equal(job.status, 'completed', JSON.stringify(job.error));
    t.equal(job.result.results.language.language, 'eng');
    t.ok(job.result.chunks > 1);

    worker.process.kill('SIGTERM');
    server.process.kill('SIGTERM');
    t.equal(await worker.exited, 0, `worker exits cleanly on SIGTERM\n${worker.output.slice(-2000)}`);
    t.equal(await server.exited, 0, `server exits cleanly on SIGTERM\n${server.output.slice(-2000)}`);
  });
}
