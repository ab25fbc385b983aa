import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { installTracing } from '../../server/tracing.js';
import { finishedJob, longText } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startRedis } from '../helpers/redis-server.js';
import { runEntryPoint } from '../helpers/server-process.js';
import { startTestServer } from '../helpers/test-server.js';
import { until } from '../helpers/until.js';

/*
 * A job queued on Redis by this process and run by `server/worker.ts` in another: the worker,
 * configured by the standard OTEL_* variables, exports over OTLP/HTTP (JSON) to a collector
 * here, and its job span continues the trace of the request that queued the job.
 */

interface CollectedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly parentSpanId: string;
  readonly serviceName: string | undefined;
}

/** Ids in OTLP/JSON are hex; base64 is accepted too, in case an encoder sends it. */
const hex = (id: unknown): string => (typeof id !== 'string' || id === '' ? '' : /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex'));

/** An OTLP/HTTP JSON traces endpoint that answers every export and keeps its spans. */
async function collector(t: Test): Promise<{ readonly url: string; readonly spans: CollectedSpan[] }> {
  const spans: CollectedSpan[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      try {
        const parsed = JSON.parse(body) as { resourceSpans?: any[] };
        for (const resource of parsed.resourceSpans ?? []) {
          const serviceName = (resource.resource?.attributes ?? []).find((a: any) => a.key === 'service.name')?.value?.stringValue;
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) spans.push({ name: span.name, traceId: hex(span.traceId), parentSpanId: hex(span.parentSpanId), serviceName });
          }
        }
      } catch {
        // Not JSON (a protobuf exporter): nothing collected, and the test says so.
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, spans };
}

const redis = await startRedis(t);

if (redis !== undefined) {
  t.test('a BullMQ worker in another process continues the trace of the request that queued the job', async (t) => {
    const exporter = new InMemorySpanExporter();
    const tracing = installTracing({ exporter, processor: 'simple' });
    t.teardown(() => tracing.shutdown());
    const otlp = await collector(t);
    const dir = await mkdtemp(path.join(tmpdir(), 'capserve-traced-worker-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const config = path.join(dir, 'capabilities.json');
    await writeFile(config, JSON.stringify({ models: [], capabilities: [{ name: 'language', kind: 'language-id' }] }));
    const worker = runEntryPoint(t, 'worker.ts', {
      REDIS_URL: redis.url,
      CAPABILITIES_CONFIG: config,
      WORKER_ID: 'traced-worker',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_SERVICE_NAME: 'capserve-worker',
      OTEL_BSP_SCHEDULE_DELAY: '20',
    });
    // This process only fronts the queue; the worker process runs the job.
    const front = await startTestServer(t, [recordingCapability('language')], { jobs: { redisUrl: redis.url, workerId: 'front', queueLocalWorkers: false } });
    const client = new Redis(redis.url);
    t.teardown(() => client.quit());
    const startup = { timeoutMs: 30_000, intervalMs: 50 };
    await until(() => worker.output.includes('worker ready'), { ...startup, what: () => `the worker to be ready\n${worker.output.slice(-2000)}` });
    await until(async () => (await client.exists('capserve:workers:traced-worker:gpu_fallback')) === 1, { ...startup, what: 'the worker heartbeat' });

    const { status, body } = await front.post('/process', { text: longText, capabilities: ['language'] });
    t.equal(status, 202, JSON.stringify(body));
    t.equal(body.route.routing.worker, 'traced-worker:gpu_fallback');
    const job = await finishedJob(front, body.jobId);
    t.equal(job.status, 'completed', JSON.stringify(job.error));

    const request = await until(() => exporter.getFinishedSpans().find((span) => span.name === 'HTTP POST /process'), { what: 'the request span' });
    const run = await until(() => otlp.spans.find((span) => span.name === 'job gpu_fallback'), {
      ...startup,
      what: () => `the worker's job span at the collector (has: ${otlp.spans.map((s) => s.name).join(', ')})\n${worker.output.slice(-2000)}`,
    });
    t.equal(run.traceId, request.spanContext().traceId, "the worker's job span is in the request's trace");
    t.equal(run.parentSpanId, request.spanContext().spanId, 'under the request span');
    t.equal(run.serviceName, 'capserve-worker', 'OTEL_SERVICE_NAME names the service');
    await until(() => otlp.spans.some((span) => span.name === 'queue wait' && span.traceId === run.traceId), { ...startup, what: "the worker's queue waits in the trace" });
    t.pass("the worker's batcher work is in the same trace");

    worker.process.kill('SIGTERM');
    t.equal(await worker.exited, 0, `the worker flushes its spans and exits cleanly\n${worker.output.slice(-2000)}`);
  });
}
