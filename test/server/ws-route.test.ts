import t, { type Test } from 'tap';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestWsClient } from '../helpers/ws-client.js';

const capabilities = () => {
  const classification = recordingCapability('classification');
  const recommendations = recordingCapability('recommendations', ['classification']);
  const alerts = recordingCapability('alerts', ['classification'], { fail: (texts) => texts.includes('boom') });
  return { classification, recommendations, alerts, all: [classification, recommendations, alerts] };
};

async function connect(t: Test, url: string): Promise<TestWsClient> {
  const client = await TestWsClient.connect(`${url.replace('http', 'ws')}/ws`);
  t.teardown(() => client.close());
  return client;
}

t.test('streams each capability per text as it finishes, dependencies first, then done', async (t) => {
  const server = await startTestServer(t, capabilities().all);
  const client = await connect(t, server.url);
  client.send({ id: 'r1', texts: ['x', 'y'], capabilities: ['recommendations', 'classification'] });
  const done = await client.next((m) => m.type === 'done' && m.id === 'r1');
  const results = client.received.filter((m) => m.id === 'r1' && m.type === 'result');
  t.same(
    results.map((m) => [m.capability, m.index, m.result]),
    [
      ['classification', 0, 'classification(x)'],
      ['classification', 1, 'classification(y)'],
      ['recommendations', 0, 'recommendations(x)'],
      ['recommendations', 1, 'recommendations(y)'],
    ],
  );
  t.equal(client.received.indexOf(done), client.received.length - 1, 'done comes last');
  t.type(done.timingMs, 'number');
  t.same(done.failed, []);
});

t.test('many requests in flight on one socket share batches with HTTP requests', async (t) => {
  const caps = capabilities();
  const server = await startTestServer(t, caps.all, { windowMs: 50 });
  const client = await connect(t, server.url);
  client.send({ id: 1, texts: ['w1'], capabilities: ['classification'] });
  client.send({ id: 2, texts: ['w2'], capabilities: ['alerts'] });
  const http = server.post('/classify', { texts: ['h1'], capabilities: ['classification'] });
  const [one, two] = await Promise.all([
    client.next((m) => m.type === 'done' && m.id === 1),
    client.next((m) => m.type === 'done' && m.id === 2),
  ]);
  t.equal((await http).status, 200);
  t.equal(one.batch.id, two.batch.id);
  t.equal(caps.classification.executions.length, 1, 'one execution for the socket and the HTTP request');
  t.same([...(caps.classification.executions[0]?.texts ?? [])].sort(), ['h1', 'w1', 'w2']);
});

t.test('invalid messages get an error and the socket stays open', async (t) => {
  const server = await startTestServer(t, capabilities().all);
  const client = await connect(t, server.url);
  const cases: [unknown, string][] = [
    ['not json', 'VALIDATION_ERROR'],
    ['[1,2]', 'VALIDATION_ERROR'],
    [{ id: 'a', texts: 'x', capabilities: ['classification'] }, 'VALIDATION_ERROR'],
    [{ texts: ['x'], capabilities: ['classification'] }, 'VALIDATION_ERROR'],
    [{ id: 'b', texts: ['x'], capabilities: ['nope'] }, 'UNKNOWN_CAPABILITY'],
    [{ id: 'c', texts: Array.from({ length: 9 }, () => 't'), capabilities: ['classification'] }, 'TOO_MANY_TEXTS'],
    [{ id: 'd', type: 'teleport' }, 'VALIDATION_ERROR'],
  ];
  for (const [message, code] of cases) {
    const before = client.received.length;
    client.send(message);
    const reply = await client.next((m) => client.received.indexOf(m) >= before && m.type === 'error');
    t.equal(reply.code, code, JSON.stringify(message).slice(0, 60));
    t.type(reply.message, 'string');
  }
  t.equal((await client.next((m) => m.id === 'b')).valid?.length, 3, 'unknown capability lists the valid names');
  client.send({ id: 'ok', texts: ['fine'], capabilities: ['classification'] });
  const done = await client.next((m) => m.id === 'ok' && m.type === 'done');
  t.ok(done, 'the socket still serves');
});

t.test('a failing capability is an error message for that capability, then done', async (t) => {
  const server = await startTestServer(t, capabilities().all);
  const client = await connect(t, server.url);
  client.send({ id: 'f', texts: ['boom'], capabilities: ['classification', 'alerts'] });
  const done = await client.next((m) => m.id === 'f' && m.type === 'done');
  const error = client.received.find((m) => m.id === 'f' && m.type === 'error');
  t.match(error, { capability: 'alerts', code: 'CAPABILITY_FAILED', message: /exploded/ });
  t.same(done.failed, ['alerts']);
  t.ok(client.received.some((m) => m.id === 'f' && m.type === 'result' && m.capability === 'classification'));
});

t.test('closing the socket cancels its pending texts: they never run', async (t) => {
  const caps = capabilities();
  // A long window: the close and the HTTP request must land inside it even on a loaded machine.
  const server = await startTestServer(t, caps.all, { windowMs: 1500 });
  const client = await connect(t, server.url);
  client.send({ id: 'gone', texts: ['socket-only'], capabilities: ['classification', 'recommendations'] });
  // The socket's request must be in the window before the close, or there is nothing to cancel.
  while ((await queued(server)) === 0) await new Promise((r) => setImmediate(r));
  const http = server.post('/classify', { texts: ['http-only'], capabilities: ['classification'] });
  await client.close();
  t.equal((await http).status, 200);
  t.same(caps.classification.executions.map((e) => e.texts), [['http-only']]);
  t.equal(caps.recommendations.executions.length, 0);
});

async function queued(server: { get(path: string): Promise<{ text: string }> }): Promise<number> {
  const metrics = await server.get('/metrics');
  return Number(/capserve_queue_depth_texts\{state="queued"\} (\d+)/.exec(metrics.text)?.[1] ?? 0);
}
