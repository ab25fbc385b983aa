import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { CapserveService } from '../../engine/service.js';
import { defaultLoaders } from '../../models/loaders.js';
import { ModelPool } from '../../models/pool.js';
import { ApiKeys } from '../../server/api-keys.js';
import { buildWorkerApp, type QueueConsumersState } from '../../server/worker-http.js';
import { finishedJob, longText } from '../helpers/job-http.js';
import { runWithInput } from '../helpers/metrics-server.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startRedis } from '../helpers/redis-server.js';
import { startWorkerProcess } from '../helpers/server-process.js';
import { startTestServer } from '../helpers/test-server.js';
import { until, within } from '../helpers/until.js';

/*
 * The queue worker's own listener (server/worker-http.ts, WORKER_PORT): first in process, phase
 * by phase, then as `server/worker.ts` runs it, against a real redis-server, with a job queued by
 * a server in this process and run by the worker.
 */

/** A service over one model-free capability, not started; stopped when `t` ends. */
function testService(t: Test): CapserveService {
  const service = new CapserveService({
    pool: new ModelPool([], { modelsDir: '.', device: 'cpu', allowRemoteModels: false, intraOpThreads: 0 }, defaultLoaders),
    build: async () => ({ registry: new CapabilityRegistry().register(recordingCapability('language')), unavailable: new Map(), specs: new Map() }),
    batcher: { windowMs: 2, maxBatchTexts: 8, mode: 'fixed' },
    loadFailure: 'fail',
    logger: pino({ level: 'silent' }),
  });
  t.teardown(() => service.stop(1000));
  return service;
}

t.test('readiness follows the models, the queue consumers and the shutdown; liveness answers throughout', async (t) => {
  const service = testService(t);
  let queues: QueueConsumersState = 'starting';
  const app = await buildWorkerApp({ service, queues: () => queues, logger: pino({ level: 'silent' }) });
  t.teardown(() => app.close());
  const ready = async () => {
    const response = await app.inject({ url: '/health/ready' });
    return { status: response.statusCode, body: response.json() as Record<string, any> };
  };
  const alive = async () => (await app.inject({ url: '/health' })).statusCode;

  t.match(await ready(), { status: 503, body: { ready: false, phase: 'starting', queues: 'starting', error: { code: 'NOT_READY', message: /loading its models/ } } });
  t.equal(await alive(), 200);
  await service.start();
  t.match(await ready(), { status: 503, body: { ready: false, phase: 'starting', error: { code: 'NOT_READY', message: /queue consumers are starting/ } } }, 'models loaded, consumers not yet');
  queues = 'running';
  const serving = await ready();
  t.same(serving, { status: 200, body: { ready: true, phase: 'ready', queues: 'running', models: [] } }, 'no error once ready');

  queues = 'stopping';
  service.drain();
  t.match(await ready(), { status: 503, body: { ready: false, phase: 'draining', queues: 'stopping', error: { code: 'SHUTTING_DOWN' } } }, 'from the moment shutdown begins');
  await service.stop(1000);
  t.match(await ready(), { status: 503, body: { phase: 'stopped', error: { code: 'SHUTTING_DOWN' } } });
  t.equal(await alive(), 200, 'alive until the listener closes');
  t.match((await app.inject({ url: '/metrics' })).body, /^capserve_ready 0$/m, 'capserve_ready agrees with readiness');
});

t.test('/metrics is the service registry; other routes are NOT_FOUND; keys guard what AUTH_EXEMPT_PATHS leaves out', async (t) => {
  const service = testService(t);
  await service.start();
  const open = await buildWorkerApp({ service, queues: () => 'running', logger: pino({ level: 'silent' }) });
  t.teardown(() => open.close());
  const metrics = await open.inject({ url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.match(metrics.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(metrics.body, /^capserve_ready 1$/m);
  t.match(metrics.body, /^capserve_build_info\{/m);
  t.match(metrics.body, /^process_cpu_seconds_total /m);
  const missing = await open.inject({ method: 'POST', url: '/classify', payload: { texts: ['x'], capabilities: ['language'] } });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error.code, 'NOT_FOUND', 'a worker serves no API routes');

  const keys = new ApiKeys(['prometheus:read:a-read-key-for-the-scraper-0123']);
  const guarded = await buildWorkerApp({ service, queues: () => 'running', logger: pino({ level: 'silent' }), auth: { keys, exemptPaths: ['/health', '/health/ready'] } });
  t.teardown(() => guarded.close());
  t.equal((await guarded.inject({ url: '/health/ready' })).statusCode, 200, 'probes stay open');
  const refused = await guarded.inject({ url: '/metrics' });
  t.equal(refused.statusCode, 401);
  t.equal(refused.json().error.code, 'UNAUTHORIZED');
  t.equal((await guarded.inject({ url: '/metrics', headers: { authorization: 'Bearer a-read-key-for-the-scraper-0123' } })).statusCode, 200);
});

/**
 * An OTLP/HTTP traces endpoint that answers at once until `hold()`; then it keeps each export
 * waiting until `release()`. The worker's last step before it closes its listener is flushing
 * its spans, so a held export holds the worker just before its listener closes, with no timing guess.
 */
async function holdingCollector(t: Test): Promise<{ readonly url: string; hold(): void; readonly held: Promise<void>; release(): void }> {
  let holding = false;
  let heldOne: () => void = () => {};
  const held = new Promise<void>((resolve) => (heldOne = resolve));
  const waiting: ServerResponse[] = [];
  const answer = (response: ServerResponse) => response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  const server = createServer((request: IncomingMessage, response) => {
    request.resume();
    request.on('end', () => {
      if (!holding) return answer(response);
      waiting.push(response);
      heldOne();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`,
    hold: () => (holding = true),
    held,
    release: () => {
      holding = false;
      for (const response of waiting.splice(0)) answer(response);
    },
  };
}

const redis = await startRedis(t);

if (redis !== undefined) {
  t.test('npm run worker: ready once serving, counts the job it ran in a promtool-clean /metrics, not ready while it drains, exits 0', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'capserve-worker-http-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const config = path.join(dir, 'capabilities.json');
    await writeFile(config, JSON.stringify({ models: [], capabilities: [{ name: 'language', kind: 'language-id' }] }));
    const otlp = await holdingCollector(t);
    const worker = await startWorkerProcess(t, {
      REDIS_URL: redis.url,
      CAPABILITIES_CONFIG: config,
      WORKER_ID: 'scraped-worker',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      // The job's spans stay buffered until shutdown flushes them (see holdingCollector).
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    t.equal((await fetch(`${worker.url}/health`)).status, 200, 'alive');
    const ready = (await (await fetch(`${worker.url}/health/ready`)).json()) as Record<string, unknown>;
    t.match(ready, { ready: true, phase: 'ready', queues: 'running' });
    t.notOk('error' in ready);

    // This process only fronts the queues; the worker process runs the job.
    const front = await startTestServer(t, [recordingCapability('language')], { jobs: { redisUrl: redis.url, workerId: 'front', queueLocalWorkers: false } });
    const accepted = await until(
      async () => {
        const { status, body } = await front.post('/process', { text: longText, capabilities: ['language'] });
        // Until the worker's heartbeat is in Redis the front-end may see no worker for the job.
        return status === 202 && String(body.route?.routing?.worker).startsWith('scraped-worker:') ? body : undefined;
      },
      { what: () => `a job routed to the worker\n${worker.output.slice(-2000)}`, timeoutMs: 10_000, intervalMs: 50 },
    );
    const queue = String(accepted.route.routing.worker).split(':')[1];
    const job = await finishedJob(front, accepted.jobId);
    t.equal(job.status, 'completed', JSON.stringify(job.error));

    const counted = new RegExp(`^capserve_job_attempts_total\\{queue="${queue}",outcome="completed"\\} 1$`, 'm');
    const text = await until(async () => {
      const scraped = await (await fetch(`${worker.url}/metrics`)).text();
      return counted.test(scraped) ? scraped : undefined;
    }, { what: `the ${queue} attempt counted in the worker's /metrics` });
    t.match(text, counted, `the worker counted its ${queue} attempt`);
    t.match(text, /^capserve_ready 1$/m);
    t.match(text, /^capserve_batched_requests_total\{outcome="ok"\} [1-9]/m, "the job's texts went through the worker's batcher");
    const lint = await runWithInput('promtool', ['check', 'metrics'], text);
    t.equal(lint.code, 0, `promtool check metrics exits 0: ${lint.stdout}${lint.stderr}`);
    t.equal(lint.stdout.trim() + lint.stderr.trim(), '', 'no lint warnings');

    otlp.hold();
    worker.process.kill('SIGTERM');
    await within(otlp.held, { what: () => `the worker to flush its spans on SIGTERM\n${worker.output.slice(-2000)}` });
    // The queues have drained and the service has stopped; only the listener is left open.
    const draining = await fetch(`${worker.url}/health/ready`);
    t.equal(draining.status, 503, 'not ready while shutting down');
    t.match(await draining.json(), { ready: false, queues: 'stopping', error: { code: 'SHUTTING_DOWN' } });
    t.equal((await fetch(`${worker.url}/health`)).status, 200, 'still alive');
    otlp.release();
    t.equal(await worker.exited, 0, `the worker exits cleanly on SIGTERM\n${worker.output.slice(-2000)}`);
    await t.rejects(fetch(`${worker.url}/health`), 'the listener is closed');
  });
}
