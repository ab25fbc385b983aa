import t from 'tap';
import { type Capability } from '../../capabilities/types.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestWsClient } from '../helpers/ws-client.js';

/** A capability that holds every run until released, recording the texts of each run. */
function held(name: string) {
  const runs: string[][] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const capability: Capability<unknown> = {
    name,
    dependsOn: [],
    async run(texts) {
      runs.push([...texts]);
      await gate;
      return texts.map((text) => `${name}(${text})`);
    },
  };
  return { capability, runs, release: () => release() };
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

t.test('past MAX_QUEUED_TEXTS a request gets 429 with Retry-After before any work; the socket gets an error and stays open', async (t) => {
  const model = held('model');
  const server = await startTestServer(t, [model.capability], { maxQueuedTexts: 3, batcher: { mode: 'adaptive' } });
  const first = post(server.url, { texts: ['a', 'b', 'c'], capabilities: ['model'] });
  while (model.runs.length === 0) await new Promise((resolve) => setImmediate(resolve));

  const refused = await post(server.url, { texts: ['d'], capabilities: ['model'] });
  t.equal(refused.status, 429);
  const retryAfter = Number(refused.headers.get('retry-after'));
  t.ok(retryAfter >= 1 && retryAfter <= 300, `Retry-After ${retryAfter}`);
  const body = (await refused.json()) as any;
  t.match(body.error, { code: 'OVERLOADED', retryAfterSeconds: retryAfter, queuedTexts: 3, limit: 3 });

  const client = await TestWsClient.connect(`${server.url.replace('http', 'ws')}/ws`);
  t.teardown(() => client.close());
  client.send({ id: 'w', texts: ['e'], capabilities: ['model'] });
  t.match(await client.next((m) => m.id === 'w'), { type: 'error', code: 'OVERLOADED' });

  model.release();
  t.equal((await first).status, 200);
  t.same(model.runs, [['a', 'b', 'c']], 'refused texts never ran');
  client.send({ id: 'after', texts: ['f'], capabilities: ['model'] });
  t.equal((await client.next((m) => m.id === 'after' && m.type === 'done')).type, 'done', 'the same socket works once the backlog drains');
  t.match((await server.get('/metrics')).text, /capserve_rejected_requests_total\{reason="overloaded"\} 2/);
});

t.test('a request whose deadline passes while queued is removed before it runs (504)', async (t) => {
  const model = held('model');
  const quick = recordingCapability('quick');
  // A long window bound: while the only slot is busy, the late request waits in the window.
  const server = await startTestServer(t, [model.capability, quick], { windowMs: 10_000, batcher: { mode: 'adaptive', maxConcurrentBatches: 1 } });
  const blocking = post(server.url, { texts: ['busy'], capabilities: ['model'] });
  while (model.runs.length === 0) await new Promise((resolve) => setImmediate(resolve));

  const late = await post(server.url, { texts: ['late'], capabilities: ['quick'], timeoutMs: 50 });
  t.equal(late.status, 504);
  t.match(((await late.json()) as any).error, { code: 'DEADLINE_EXCEEDED', timeoutMs: 50 });
  model.release();
  t.equal((await blocking).status, 200);
  const after = await post(server.url, { texts: ['next'], capabilities: ['quick'] });
  t.equal(after.status, 200);
  t.same(quick.executions.map((e) => e.texts), [['next']], 'the expired request never ran');
});

t.test('a running request is answered at its deadline; the batch goes on for the others', async (t) => {
  const model = held('model');
  const server = await startTestServer(t, [model.capability], { windowMs: 20 });
  const patient = post(server.url, { texts: ['p'], capabilities: ['model'] });
  const hasty = post(server.url, { texts: ['h'], capabilities: ['model'], timeoutMs: 150 });
  const started = Date.now();
  const answered = await hasty;
  t.equal(answered.status, 504);
  t.ok(Date.now() - started < 2000, 'answered at its deadline, not when the model finished');
  model.release();
  const rest = (await (await patient).json()) as any;
  t.same(rest.results, [{ model: 'model(p)' }]);
});
