import path from 'node:path';
import { type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import t, { type Test } from 'tap';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { loadConfig } from '../../server/config.js';
import { finishedJob, longText } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startRedis } from '../helpers/redis-server.js';
import { serviceApp } from '../helpers/service-app.js';
import { startTestServer } from '../helpers/test-server.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';
import { idOf, parentOf, recordSpans, traceOf } from '../helpers/recorded-spans.js';
import { until } from '../helpers/until.js';

// The spans of a request, as each ends.
const { spans, named, reset } = recordSpans(t);
const traceparentOf = (span: ReadableSpan): string => `00-${traceOf(span)}-${idOf(span)}-01`;
/** The spans named `name`, once there are `count` of them (server spans end after the response is sent). */
const awaitSpans = (name: string, count: number): Promise<ReadableSpan[]> =>
  until(() => named(name).length >= count && named(name), { what: () => `${count} "${name}" spans (have: ${spans().map((s) => s.name).join(', ')})` });

t.test('two requests batched together: each its own trace with its wait, one batch linked to both, capability and model spans under it', async (t) => {
  const dir = await tinyBertDir();
  // A fixed window that closes when it holds two texts: the two requests share one batch, whatever their arrival order.
  const config = loadConfig({ MODELS_DIR: path.dirname(dir), BATCH_MODE: 'fixed', BATCH_WINDOW_MS: '10000', MAX_BATCH_TEXTS: '2' });
  const capabilities = parseCapabilitiesConfig({
    models: [{ name: 'tiny-classifier', backend: 'onnx', task: 'classification', path: path.basename(dir) }],
    capabilities: [{ name: 'classification', kind: 'classifier', model: 'tiny-classifier' }],
  });
  const { app, service } = await serviceApp(t, config, capabilities);
  await service.start();
  reset();

  const responses = await Promise.all(
    ['the first text', 'another text'].map((text) => app.inject({ method: 'POST', url: '/classify', payload: { texts: [text], capabilities: ['classification'] } })),
  );
  for (const response of responses) t.equal(response.statusCode, 200, response.body);
  const requests = await awaitSpans('HTTP POST /classify', 2);
  t.equal(requests.length, 2);
  const [first, second] = requests as [ReadableSpan, ReadableSpan];
  t.not(traceOf(first), traceOf(second), 'each request is a trace of its own');
  t.same(
    responses.map((response) => response.headers.traceparent).sort(),
    requests.map(traceparentOf).sort(),
    "each response's traceparent names its request's span",
  );
  for (const request of requests) {
    t.match(request.attributes, { 'http.request.method': 'POST', 'http.route': '/classify', 'http.response.status_code': 200, 'capserve.request.id': String });
    const admission = named('admission').find((span) => parentOf(span) === idOf(request));
    t.ok(admission, 'admission under the request');
    const wait = named('queue wait').find((span) => parentOf(span) === idOf(request));
    t.ok(wait, 'queue wait under the request');
    t.equal(wait === undefined ? undefined : traceOf(wait), traceOf(request), 'in the request trace');
    t.equal(wait?.attributes['capserve.texts'], 1);
  }

  const batches = named('batch');
  t.equal(batches.length, 1, 'one batch served both');
  const batch = batches[0] as ReadableSpan;
  t.same(batch.links.map((link) => link.context.spanId).sort(), requests.map(idOf).sort(), 'the batch links to both requests');
  t.match(batch.attributes, { 'capserve.batch.id': Number, 'capserve.batch.requests': 2, 'capserve.batch.texts': 2, 'capserve.batch.unique_texts': 2 });
  t.ok(requests.some((request) => parentOf(batch) === idOf(request) && traceOf(batch) === traceOf(request)), "the batch sits in the first request's trace");
  for (const wait of named('queue wait')) {
    t.equal(wait.attributes['capserve.batch.id'], batch.attributes['capserve.batch.id']);
    t.same(wait.links.map((link) => link.context.spanId), [idOf(batch)], 'each wait links to the batch that took it');
    t.ok(wait.endTime[0] * 1e9 + wait.endTime[1] <= batch.startTime[0] * 1e9 + batch.startTime[1] + 1e6, 'the wait ends as the batch starts');
  }

  const capability = named('capability classification');
  t.equal(capability.length, 1, 'the capability ran once for both');
  t.equal(parentOf(capability[0] as ReadableSpan), idOf(batch), 'under the batch');
  t.match(capability[0]?.attributes, { 'capserve.capability': 'classification', 'capserve.texts': 2, 'capserve.capability.computed': 2 });
  const model = named('model tiny-classifier');
  t.equal(model.length, 1, 'one model call');
  t.equal(parentOf(model[0] as ReadableSpan), idOf(capability[0] as ReadableSpan), 'under the capability');
  t.match(model[0]?.attributes, { 'capserve.model': 'tiny-classifier', 'capserve.model.device': 'cpu', 'capserve.model.backend': 'onnx', 'capserve.model.batch_size': 2 });
  t.ok(Number(model[0]?.attributes['capserve.model.estimated_tokens']) > 0, 'tokens counted');
});

t.test("an incoming traceparent is continued; a malformed one starts a new trace and is never logged", async (t) => {
  const server = await startTestServer(t, [recordingCapability('echo')], { logLevel: 'debug' });
  const callerTrace = '0af7651916cd43dd8448eb211c80319c';
  const callerSpan = 'b7ad6b7169203331';
  const continued = await fetch(`${server.url}/classify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${callerTrace}-${callerSpan}-01`, tracestate: 'vendor=value' },
    body: JSON.stringify({ texts: ['a'], capabilities: ['echo'] }),
  });
  t.equal(continued.status, 200);
  const [request] = await awaitSpans('HTTP POST /classify', 1);
  t.equal(traceOf(request as ReadableSpan), callerTrace, "the request span is in the caller's trace");
  t.equal(parentOf(request as ReadableSpan), callerSpan, "under the caller's span");
  t.equal(request?.spanContext().traceState?.get('vendor'), 'value', 'tracestate carried');
  t.equal(continued.headers.get('traceparent'), traceparentOf(request as ReadableSpan), 'the response names the trace and the span');
  t.ok(named('queue wait').every((span) => traceOf(span) === callerTrace), 'the wait is in that trace too');

  const malformed = [
    'not-a-traceparent',
    `00-${'0'.repeat(32)}-${callerSpan}-01`, // the all-zero trace id is invalid
    `00-${callerTrace}-${callerSpan}-01-\u0001${'x'.repeat(600)}`,
    `ff-${callerTrace}-${callerSpan}-01`, // version ff is forbidden
  ];
  for (const traceparent of malformed) {
    reset();
    const response = await fetch(`${server.url}/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: traceparent.replace(/[\u0000-\u001f]/g, '') },
      body: JSON.stringify({ texts: ['b'], capabilities: ['echo'] }),
    });
    t.equal(response.status, 200, 'a malformed traceparent fails nothing');
    const [span] = await awaitSpans('HTTP POST /classify', 1);
    t.not(traceOf(span as ReadableSpan), callerTrace, `a new trace for ${traceparent.slice(0, 40)}`);
    t.equal(span?.parentSpanContext, undefined, 'with no parent');
    t.match(response.headers.get('traceparent'), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    t.equal(response.headers.get('traceparent'), traceparentOf(span as ReadableSpan));
  }
  const logged = JSON.stringify(server.logs.records);
  t.notOk(logged.includes('not-a-traceparent') || logged.includes('x'.repeat(50)), 'no traceparent is logged');
  t.equal((await server.post('/classify', { texts: ['c'], capabilities: ['echo'] })).status, 200, 'the server still answers');
});

t.test('a refused request: its admission span carries the code, and nothing was queued', async (t) => {
  const server = await startTestServer(t, [recordingCapability('echo')], { maxQueuedTexts: 1 });
  const response = await server.post('/classify', { texts: ['a', 'b'], capabilities: ['echo'] });
  t.equal(response.status, 429);
  t.equal(response.body.error.code, 'OVERLOADED');
  const [request] = await awaitSpans('HTTP POST /classify', 1);
  t.match(request?.attributes, { 'http.response.status_code': 429, 'capserve.error.code': 'OVERLOADED' });
  const [admission] = named('admission');
  t.equal(parentOf(admission as ReadableSpan), idOf(request as ReadableSpan));
  t.match(admission?.attributes, { 'capserve.error.code': 'OVERLOADED' });
  t.same(named('queue wait'), [], 'nothing waited');
  t.same(named('batch'), [], 'no batch ran');
});

/** A queued /process job: its `job <queue>` span continues the submitting request's trace, and the batch work is under it. */
async function jobContinuesTrace(t: Test, jobs: Record<string, unknown>): Promise<void> {
  const server = await startTestServer(t, [recordingCapability('classification')], { jobs });
  const { status, body } = await server.post('/process', { text: longText, capabilities: ['classification'] });
  t.equal(status, 202, JSON.stringify(body));
  const job = await finishedJob(server, body.jobId);
  t.equal(job.status, 'completed', JSON.stringify(job.error));
  const [request] = await awaitSpans('HTTP POST /process', 1);
  const [run] = await until(() => spans().filter((span) => span.name.startsWith('job ')).length > 0 && spans().filter((span) => span.name.startsWith('job ')), { what: 'the job span' });
  t.equal(traceOf(run as ReadableSpan), traceOf(request as ReadableSpan), "the job continues the request's trace");
  t.equal(parentOf(run as ReadableSpan), idOf(request as ReadableSpan), 'under the request span');
  t.match(run?.attributes, { 'capserve.job.id': body.jobId, 'capserve.job.queue': String, 'capserve.job.kind': 'text' });
  const waits = named('queue wait').filter((span) => parentOf(span) === idOf(run as ReadableSpan));
  t.ok(waits.length > 0, "the job's chunks wait under the job span");
  t.ok(waits.every((span) => traceOf(span) === traceOf(request as ReadableSpan)));
  t.ok(named('batch').some((batch) => batch.links.some((link) => link.context.spanId === idOf(run as ReadableSpan))), "a batch links to the job's span");
}

t.test('a /process job on the in-process queue continues the trace of the request that queued it', async (t) => {
  await jobContinuesTrace(t, {});
});

const redis = await startRedis(t);
if (redis !== undefined) {
  t.test('a /process job through BullMQ (its payload in Redis) continues the trace of the request that queued it', async (t) => {
    await jobContinuesTrace(t, { redisUrl: redis.url, workerId: 'traced' });
  });
}
