import t, { type Test } from 'tap';
import { gatedCapability, longText } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { TestWsClient } from '../helpers/ws-client.js';


async function connect(t: Test, server: TestServer): Promise<TestWsClient> {
  const client = await TestWsClient.connect(`${server.url.replace('http', 'ws')}/ws`);
  t.teardown(() => client.close());
  return client;
}

t.test('a small process message streams its results inline, then done with the route', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { jobs: {} });
  const client = await connect(t, server);
  client.send({ id: 'p1', type: 'process', text: 'tiny', capabilities: ['classification'] });
  const done = await client.next((m) => m.id === 'p1' && m.type === 'done');
  t.same(
    client.received.filter((m) => m.id === 'p1' && m.type === 'result').map((m) => [m.capability, m.index, m.result]),
    [['classification', 0, 'classification(tiny)']],
  );
  t.equal(done.route.routing.route, 'inline');
});

t.test('a queued job streams queued, progress, then its result to the socket that sent it', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { jobs: {} });
  const client = await connect(t, server);
  client.send({ id: 'long', type: 'process', text: longText, capabilities: ['classification'] });
  const result = await client.next((m) => m.id === 'long' && m.type === 'result');
  const messages = client.received.filter((m) => m.id === 'long');
  const queued = messages[0];
  t.equal(queued?.type, 'queued');
  t.equal(queued?.route.routing.route, 'gpu_fallback');
  t.equal(result.jobId, queued?.jobId);
  const progress = messages.filter((m) => m.type === 'progress').map((m) => m.progress as number);
  t.ok(progress.length > 0, 'progress streamed');
  t.same(progress, [...progress].sort((a, b) => a - b), 'progress only grows');
  t.ok(result.result.chunks > 1);
  t.equal(messages.at(-1), result, 'the result is the last message for the job');

  // The socket that created it can follow the finished job again and gets its result from the
  // record; without API keys another socket cannot (its jobs are its own; see auth-hardening.test.ts).
  client.send({ id: 's', type: 'subscribe', jobId: result.jobId });
  const replay = await client.next((m) => m.id === 's' && m.type === 'result');
  t.same(replay.result, result.result);
  const other = await connect(t, server);
  other.send({ id: 's', type: 'subscribe', jobId: result.jobId });
  t.equal((await other.next((m) => m.id === 's')).code, 'JOB_NOT_FOUND');
});

t.test('cancel stops a queued job and its subscribers hear it; bad job messages get errors on an open socket', async (t) => {
  const { capability: slow, release } = gatedCapability('slow');
  const server = await startTestServer(t, [slow], { jobs: { queueConcurrency: 1 } });
  const client = await connect(t, server);
  client.send({ id: 'a', type: 'process', text: longText, capabilities: ['slow'] });
  client.send({ id: 'b', type: 'process', text: `${longText} More.`, capabilities: ['slow'] });
  const queued = await client.next((m) => m.id === 'b' && m.type === 'queued');
  client.send({ id: 'c', type: 'cancel', jobId: queued.jobId });
  t.equal((await client.next((m) => m.id === 'c')).type, 'cancelled');
  t.equal((await client.next((m) => m.id === 'b' && m.type !== 'queued' && m.type !== 'progress')).type, 'cancelled');
  release();
  t.equal((await client.next((m) => m.id === 'a' && m.type === 'result')).result.kind, 'text');

  client.send({ id: 'x', type: 'subscribe', jobId: 'no-such-job' });
  t.equal((await client.next((m) => m.id === 'x')).code, 'JOB_NOT_FOUND');
  client.send({ id: 'y', type: 'process', capabilities: ['slow'] });
  t.equal((await client.next((m) => m.id === 'y')).code, 'VALIDATION_ERROR');
  client.send({ id: 'z', type: 'process', text: 'x', capabilities: ['nope'] });
  t.equal((await client.next((m) => m.id === 'z')).code, 'UNKNOWN_CAPABILITY');
  client.send({ id: 'w', type: 'cancel', jobId: queued.jobId });
  t.equal((await client.next((m) => m.id === 'w')).code, 'JOB_FINISHED');
});
