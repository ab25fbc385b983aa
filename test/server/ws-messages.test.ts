import t from 'tap';
import { capabilityResultSchemas } from '../../capabilities/result-schemas.js';
import { serverMessageSchema } from '../../server/routes/ws-messages.js';
import { startDocumentedServer } from '../helpers/documented-server.js';
import { longText } from '../helpers/job-http.js';
import { TestWsClient } from '../helpers/ws-client.js';

t.test('every message the server sends on /ws matches the documented schema', async (t) => {
  const server = await startDocumentedServer(t);
  const described = (await server.request('GET', '/capabilities')).body as { capabilities: { name: string; kind: keyof typeof capabilityResultSchemas }[] };
  const kinds = new Map(described.capabilities.map((c) => [c.name, c.kind]));
  const client = await TestWsClient.connect(`${server.url.replace('http', 'ws')}/ws`);
  t.teardown(() => client.close());

  // classify: a result per text and capability, then done; a failing capability: its error, then done naming it.
  const everyKind = ['embedding', 'sentiment', 'topics', 'alerts', 'language', 'stats', 'faults'];
  client.send({ id: 'c1', texts: ['The parcel never arrived and I want my money back', 'Great service'], capabilities: everyKind });
  const done = await client.next((m) => m.id === 'c1' && m.type === 'done');
  t.same(done.failed, []);
  client.send({ id: 'c2', type: 'classify', texts: ['this one #fail'], capabilities: ['faults', 'stats'] });
  const failedDone = await client.next((m) => m.id === 'c2' && m.type === 'done');
  t.same(failedDone.failed, ['faults']);
  t.match(await client.next((m) => m.id === 'c2' && m.type === 'error'), { capability: 'faults', code: 'CAPABILITY_FAILED' });

  // Invalid messages: the one validation shape, with JSON-pointer paths; not JSON at all: an error without id.
  client.send({ id: 'bad', texts: [''], capabilities: ['stats'] });
  const invalid = await client.next((m) => m.id === 'bad');
  t.match(invalid, { type: 'error', code: 'VALIDATION_ERROR', issues: [{ path: '/texts/0', message: String }] });
  client.send('{not json');
  const unparsed = await client.next((m) => m.type === 'error' && m.id === undefined);
  t.match(unparsed, { code: 'VALIDATION_ERROR', issues: [{ path: '', message: /not JSON/ }] });
  client.send({ id: 'odd', type: 'no-such-type' });
  t.match(await client.next((m) => m.id === 'odd'), { type: 'error', code: 'VALIDATION_ERROR', issues: [{ path: '' }] });

  // process: inline (results, then done with the route) and queued (queued, progress, result).
  client.send({ id: 'p1', type: 'process', text: 'a short text', capabilities: ['stats'] });
  t.ok((await client.next((m) => m.id === 'p1' && m.type === 'done')).route);
  client.send({ id: 'p2', type: 'process', text: longText, capabilities: ['stats'] });
  const finished = await client.next((m) => m.id === 'p2' && m.type === 'result');
  t.ok(client.received.some((m) => m.id === 'p2' && m.type === 'queued'));
  t.ok(client.received.some((m) => m.id === 'p2' && m.type === 'progress'), 'progress streamed');

  // subscribe to a finished job: its result again; cancel it: JOB_FINISHED; a slow job cancelled: cancelled.
  client.send({ id: 's1', type: 'subscribe', jobId: finished.jobId });
  await client.next((m) => m.id === 's1' && m.type !== 'progress');
  client.send({ id: 'x1', type: 'cancel', jobId: finished.jobId });
  t.match(await client.next((m) => m.id === 'x1'), { type: 'error', code: 'JOB_FINISHED' });
  client.send({ id: 'p3', type: 'process', text: `${longText} #slow`, capabilities: ['faults'] });
  const queued = await client.next((m) => m.id === 'p3' && m.type === 'queued');
  client.send({ id: 'x2', type: 'cancel', jobId: queued.jobId });
  t.match(await client.next((m) => m.id === 'x2'), { type: 'cancelled', jobId: queued.jobId });
  await client.next((m) => m.id === 'p3' && m.type === 'cancelled');

  const seen = new Set<string>();
  for (const message of client.received) {
    const parsed = serverMessageSchema.safeParse(message);
    t.ok(parsed.success, `${message.type} message matches`, { found: message, issues: parsed.error?.issues });
    seen.add(message.type + (message.jobId !== undefined && message.type === 'result' ? ' (job)' : message.route !== undefined && message.type === 'done' ? ' (process)' : ''));
    if (message.type === 'result' && message.capability !== undefined) {
      const kind = kinds.get(message.capability);
      t.ok(kind !== undefined && capabilityResultSchemas[kind].safeParse(message.result).success, `${message.capability}'s result matches its kind's schema`);
    }
  }
  t.same([...seen].sort(), ['cancelled', 'done', 'done (process)', 'error', 'progress', 'queued', 'result', 'result (job)'], 'every server message type was exercised');
  const results = new Set(client.received.filter((m) => m.id === 'c1' && m.type === 'result').map((m) => m.capability));
  t.same([...results].sort(), [...everyKind].sort(), 'a result of every configured kind');

  const document = (await server.request('GET', '/docs/ws-messages.json')).body as { $defs: Record<string, unknown> };
  t.ok(document.$defs.ClientMessage !== undefined && document.$defs.ServerMessage !== undefined, 'served as JSON Schema');
});
