import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import t, { type Test } from 'tap';
import { type Capability } from '../../capabilities/types.js';
import { longText } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { idOf, parentOf, recordSpans, traceOf } from '../helpers/recorded-spans.js';
import { until } from '../helpers/until.js';
import { TestWsClient } from '../helpers/ws-client.js';

// The spans of WebSocket messages, as each ends.
const { spans, named, reset } = recordSpans(t);
const childrenOf = (parent: ReadableSpan, name: string): ReadableSpan[] => named(name).filter((span) => parentOf(span) === idOf(parent));
/** The finished span named `name` that `match` picks, once it has ended. */
const awaitSpan = (name: string, match: (span: ReadableSpan) => boolean = () => true): Promise<ReadableSpan> =>
  until(() => named(name).find(match), { what: () => `a "${name}" span (have: ${spans().map((s) => s.name).join(', ')})` });
const messageSpan = (id: string | number): Promise<ReadableSpan> =>
  until(() => spans().find((span) => span.name.startsWith('WS ') && span.attributes['capserve.ws.message.id'] === id), {
    what: () => `the span of message ${id} (have: ${spans().map((s) => `${s.name} ${String(s.attributes['capserve.ws.message.id'])}`).join(', ')})`,
  });

const callerTrace = '0af7651916cd43dd8448eb211c80319c';
const callerSpan = 'b7ad6b7169203331';
const callerTraceparent = `00-${callerTrace}-${callerSpan}-01`;

async function connect(t: Test, server: TestServer, headers: Record<string, string> = {}): Promise<TestWsClient> {
  const client = await TestWsClient.connect(`${server.url.replace('http', 'ws')}/ws`, { headers });
  t.teardown(() => client.close());
  return client;
}

/** A capability whose runs wait for `release()`, and say when one has started. */
function heldCapability(name: string): { capability: Capability<unknown>; started: Promise<void>; release: () => void } {
  let release = (): void => {};
  let started = (): void => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const running = new Promise<void>((resolve) => (started = resolve));
  return {
    started: running,
    release: () => release(),
    capability: {
      name,
      dependsOn: [],
      async run(texts) {
        started();
        await gate;
        return texts.map(() => 'ok');
      },
    },
  };
}

t.test("a classify message: a server span in the upgrade's trace, linked to the upgrade, with the batch under it", async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification'), recordingCapability('alerts', ['classification'])]);
  const client = await connect(t, server, { traceparent: callerTraceparent });
  const upgrade = await awaitSpan('HTTP GET /ws');
  t.match(upgrade.attributes, { 'http.response.status_code': 101, 'http.route': '/ws' }, 'the upgrade span ends with 101');
  t.equal(parentOf(upgrade), callerSpan);

  client.send({ id: 'r1', texts: ['x', 'y'], capabilities: ['alerts'] });
  const done = await client.next((m) => m.id === 'r1' && m.type === 'done');
  const span = await messageSpan('r1');
  t.equal(span.name, 'WS classify');
  t.equal(span.kind, SpanKind.SERVER);
  t.match(span.attributes, {
    'capserve.ws.message.type': 'classify',
    'capserve.ws.message.id': 'r1',
    'capserve.texts': 2,
    'capserve.capabilities': ['alerts'],
    'capserve.batch.ids': [done.batch.id],
    'capserve.request.id': upgrade.attributes['capserve.request.id'],
  });
  t.equal(span.attributes['capserve.error.code'], undefined);
  t.not(span.status.code, SpanStatusCode.ERROR);
  t.equal(traceOf(span), callerTrace, "in the trace the upgrade's traceparent names");
  t.equal(parentOf(span), callerSpan, "a child of the upgrade's caller");
  t.same(span.links.map((link) => link.context.spanId), [idOf(upgrade)], 'linked to the upgrade span');

  t.equal(childrenOf(span, 'admission').length, 1, 'admission under the message');
  t.equal(childrenOf(span, 'queue wait').length, 1, 'its queue wait under the message');
  const [batch] = await until(() => childrenOf(span, 'batch').length > 0 && childrenOf(span, 'batch'), { what: 'the batch span under the message' });
  t.equal(batch?.attributes['capserve.batch.id'], done.batch.id);
  t.equal(childrenOf(batch as ReadableSpan, 'capability alerts').length, 1, 'the capabilities under the batch');
  t.equal(childrenOf(batch as ReadableSpan, 'capability classification').length, 1);
  const last = client.received.filter((m) => m.id === 'r1').at(-1);
  t.equal(last?.type, 'done', 'the span ended with its last reply');
});

t.test("a message's own traceparent wins; a malformed one is ignored; without any, each message is a trace of its own", async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { logLevel: 'info' });
  const traced = await connect(t, server, { traceparent: callerTraceparent });
  const ownTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const ownSpan = '00f067aa0ba902b7';
  traced.send({ id: 'own', texts: ['a'], capabilities: ['classification'], traceparent: `00-${ownTrace}-${ownSpan}-01`, tracestate: 'vendor=value' });
  traced.send({ id: 'bad-parent', texts: ['b'], capabilities: ['classification'], traceparent: 'not-a-traceparent' });
  const own = await messageSpan('own');
  t.equal(traceOf(own), ownTrace, "the message's trace");
  t.equal(parentOf(own), ownSpan, "under the message's span");
  t.equal(own.spanContext().traceState?.get('vendor'), 'value', 'tracestate carried');
  const batch = await awaitSpan('batch', (span) => traceOf(span) === ownTrace);
  t.ok(batch, "the batch is in the message's trace");
  const fallback = await messageSpan('bad-parent');
  t.equal(parentOf(fallback), callerSpan, "a malformed traceparent: the upgrade's is used");
  t.notOk(JSON.stringify(server.logs.records).includes('not-a-traceparent'), 'and it is never logged');

  reset();
  const plain = await connect(t, server);
  const upgrade = await awaitSpan('HTTP GET /ws');
  t.equal(upgrade.parentSpanContext, undefined);
  plain.send({ id: 1, texts: ['c'], capabilities: ['classification'] });
  plain.send({ id: 2, texts: ['d'], capabilities: ['classification'] });
  const [one, two] = [await messageSpan(1), await messageSpan(2)];
  for (const span of [one, two]) {
    t.equal(span.parentSpanContext, undefined, 'a root span');
    t.same(span.links.map((link) => link.context.spanId), [idOf(upgrade)], 'linked to its connection');
  }
  t.not(traceOf(one), traceOf(two), 'each message its own trace');
  t.not(traceOf(one), traceOf(upgrade), 'not inside the connection');
});

t.test('refused messages: an error span with the code, nothing reaches the batcher, the socket still serves', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { wsMaxMessagesPerSecond: 20 });
  const client = await connect(t, server, { traceparent: callerTraceparent });
  const before = server.service.stats.snapshot();
  const cases: { message: unknown; id: string | number | undefined; name: string; code: string }[] = [
    { message: 'not json', id: undefined, name: 'WS unknown', code: 'VALIDATION_ERROR' },
    { message: { id: 'u', type: 'teleport' }, id: 'u', name: 'WS unknown', code: 'VALIDATION_ERROR' },
    { message: { id: 'c', texts: ['x'], capabilities: ['nope'] }, id: 'c', name: 'WS classify', code: 'UNKNOWN_CAPABILITY' },
    { message: { id: 'n', texts: Array.from({ length: 9 }, () => 't'), capabilities: ['classification'] }, id: 'n', name: 'WS classify', code: 'TOO_MANY_TEXTS' },
    { message: { id: 'tp', texts: ['x'], capabilities: ['classification'], traceparent: 7 }, id: 'tp', name: 'WS classify', code: 'VALIDATION_ERROR' },
    { message: { id: 'p', type: 'process', text: 'x' }, id: 'p', name: 'WS process', code: 'VALIDATION_ERROR' },
  ];
  for (const { message, id, name, code } of cases) {
    reset();
    const seen = client.received.length;
    client.send(message);
    const reply = await client.next((m) => client.received.indexOf(m) >= seen && m.type === 'error');
    t.equal(reply.code, code, `${JSON.stringify(message).slice(0, 50)}: answered ${code}`);
    const span = await awaitSpan(name);
    t.match(span.attributes, { 'capserve.error.code': code, 'capserve.ws.message.type': name.slice(3) });
    t.same(span.status, { code: SpanStatusCode.ERROR, message: code }, 'an error status with the code');
    t.equal(span.attributes['capserve.ws.message.id'], id);
    t.equal(parentOf(span), callerSpan, "in the upgrade's trace");
  }
  t.same(named('queue wait'), [], 'nothing waited');
  t.same(server.service.stats.snapshot(), before, 'nothing reached the batcher');

  reset();
  for (let i = 0; i < 25; i += 1) client.send({ id: `flood-${i}`, texts: ['f'], capabilities: ['classification'] });
  const limited = await client.next((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
  t.ok(limited);
  const refused = await until(() => named('WS unknown').find((span) => span.attributes['capserve.error.code'] === 'RATE_LIMITED'), { what: 'a rate-limited span' });
  t.equal(refused.status.code, SpanStatusCode.ERROR);

  const fresh = await connect(t, server);
  fresh.send({ id: 'ok', texts: ['fine'], capabilities: ['classification'] });
  await fresh.next((m) => m.id === 'ok' && m.type === 'done');
  t.not((await messageSpan('ok')).status.code, SpanStatusCode.ERROR, 'a normal message after them is served');
});

t.test('a closed connection ends the spans of the messages it still waited for', async (t) => {
  const held = heldCapability('held');
  const server = await startTestServer(t, [held.capability]);
  const client = await connect(t, server);
  client.send({ id: 'w', texts: ['waits'], capabilities: ['held'] });
  await held.started;
  t.same(named('WS classify'), [], 'in flight: not ended');
  await client.close();
  const span = await messageSpan('w');
  t.same(span.status, { code: SpanStatusCode.ERROR, message: 'connection closed' });
  t.same(span.events.map((event) => event.name), ['connection closed']);
  held.release();
  // The batch still finishes (another request could share it); the message span ended once.
  await awaitSpan('batch');
  t.equal(named('WS classify').length, 1);
});

t.test('a queued process message: the job runs under its span, which ends with the result; subscribe is traced too', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { jobs: {} });
  const client = await connect(t, server, { traceparent: callerTraceparent });
  client.send({ id: 'long', type: 'process', text: longText, capabilities: ['classification'] });
  const result = await client.next((m) => m.id === 'long' && m.type === 'result');
  const span = await messageSpan('long');
  t.equal(span.name, 'WS process');
  t.match(span.attributes, { 'capserve.ws.message.type': 'process', 'capserve.texts': 1, 'capserve.job.id': result.jobId, 'capserve.capabilities': ['classification'] });
  t.equal(parentOf(span), callerSpan);
  const job = await until(() => spans().find((s) => s.name.startsWith('job ') && s.attributes['capserve.job.id'] === result.jobId), { what: 'the job span' });
  t.equal(parentOf(job), idOf(span), 'the job under the message');
  const end = (s: ReadableSpan): number => s.endTime[0] * 1e9 + s.endTime[1];
  t.ok(end(span) >= end(job), 'the message span outlasts the job: it ends with the result sent');

  client.send({ id: 's', type: 'subscribe', jobId: result.jobId });
  await client.next((m) => m.id === 's' && m.type === 'result');
  const subscribe = await messageSpan('s');
  t.equal(subscribe.name, 'WS subscribe');
  t.match(subscribe.attributes, { 'capserve.job.id': result.jobId });
  client.send({ id: 'x', type: 'cancel', jobId: 'no-such-job' });
  await client.next((m) => m.id === 'x');
  t.match((await messageSpan('x')).attributes, { 'capserve.error.code': 'JOB_NOT_FOUND' });
});
