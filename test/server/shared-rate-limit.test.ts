import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { type RedisFailureMode } from '../../server/shared-rate-limit-store.js';
import { freePort } from '../../scripts/free-port.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { until } from '../helpers/until.js';

const classifyBody = { texts: ['x'], capabilities: ['classification'] };
const max = 3;

/** A replica with a shared limit of `max` a minute on `redisUrl`, logging warnings. */
async function replica(t: Test, redisUrl: string, onFailure?: RedisFailureMode): Promise<TestServer> {
  return startTestServer(t, [recordingCapability('classification')], {
    rateLimit: { max, windowMs: 60_000, redis: { url: redisUrl, ...(onFailure === undefined ? {} : { onFailure }) } },
    logLevel: 'info',
  });
}

/** POST /classify from `address` (the rate-limit identity of a client without a key). */
async function classify(server: TestServer, address: string): Promise<{ status: number; code: string | undefined; retryAfter: string | undefined }> {
  const reply = await server.app.inject({ method: 'POST', url: '/classify', payload: classifyBody, remoteAddress: address });
  const body = reply.json() as { error?: { code: string } };
  const retryAfter = reply.headers['retry-after'];
  return { status: reply.statusCode, code: body.error?.code, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined };
}

async function statuses(server: TestServer, address: string, count: number): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i += 1) result.push((await classify(server, address)).status);
  return result;
}

function client(t: Test, redis: RedisServer): Redis {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  connection.on('error', () => {});
  t.teardown(() => connection.disconnect());
  return connection;
}

/** Waits until `server` counts in Redis again (its connection came back): a probe from its own address leaves its key there. */
async function sharedAgain(server: TestServer, redis: Redis, address: string): Promise<void> {
  await until(
    async () => {
      await classify(server, address);
      return (await redis.exists(`capserve:rl:ip:${address}`).catch(() => 0)) === 1;
    },
    { what: `the counter of ${address} in Redis`, timeoutMs: 15_000, intervalMs: 100 },
  );
}

t.test('two replicas on one Redis enforce one combined limit per client, under namespaced keys', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const [a, b] = [await replica(t, redis.url), await replica(t, redis.url)];
  const inspect = client(t, redis);

  t.same([(await classify(a, '10.0.0.1')).status, (await classify(b, '10.0.0.1')).status, (await classify(a, '10.0.0.1')).status], [200, 200, 200]);
  const before = [a.service.stats.snapshot(), b.service.stats.snapshot()];
  const refused = await classify(b, '10.0.0.1');
  t.equal(refused.status, 429, 'the fourth request, on the other replica, is past the shared limit of 3');
  t.equal(refused.code, 'RATE_LIMITED');
  t.ok(Number(refused.retryAfter) >= 1, `Retry-After ${String(refused.retryAfter)}`);
  t.equal((await classify(a, '10.0.0.1')).code, 'RATE_LIMITED', 'and on the first one too');
  t.same([a.service.stats.snapshot(), b.service.stats.snapshot()], before, 'nothing refused reached a batcher');

  t.equal(await inspect.get('capserve:rl:ip:10.0.0.1'), '5', 'one counter for both replicas, under the capserve:rl: prefix');
  const ttl = await inspect.pttl('capserve:rl:ip:10.0.0.1');
  t.ok(ttl > 0 && ttl <= 60_000, `the counter expires with the window (${ttl} ms)`);
  t.same(await statuses(b, '10.0.0.2', 1), [200], 'another client has its own budget');
  t.equal((await a.app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'exempt paths are not limited');
});

t.test('Redis stops: "local" (the default) limits each replica on its own, the process keeps serving, and the shared limit returns with Redis', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const [a, b] = [await replica(t, redis.url), await replica(t, redis.url)];
  const inspect = client(t, redis);
  t.same(await statuses(a, '10.1.0.1', 2), [200, 200]);

  await redis.stop();
  const warned = a.logs.next((record) => record.msg.startsWith('rate limits: Redis does not answer'), 'the outage warning');
  t.same(await statuses(a, '10.1.0.1', max + 1), [200, 200, 200, 429], 'replica a counts alone: the limit again, from 0');
  t.same(await statuses(b, '10.1.0.1', max + 1), [200, 200, 200, 429], 'and so does replica b: at most the limit per replica');
  const warning = await warned;
  t.equal(warning.level, 40);
  t.equal(warning.onFailure, 'local');
  t.equal(a.logs.records.filter((record) => record.msg.startsWith('rate limits: Redis does not answer')).length, 1, 'one warning per outage, not one per request');

  await redis.start();
  await sharedAgain(a, inspect, '10.1.9.1');
  await sharedAgain(b, inspect, '10.1.9.2');
  await a.logs.next((record) => record.msg === 'rate limits: Redis answers again; limits are shared', 'the recovery line');
  t.same(
    [(await classify(a, '10.1.0.2')).status, (await classify(b, '10.1.0.2')).status, (await classify(a, '10.1.0.2')).status, (await classify(b, '10.1.0.2')).status],
    [200, 200, 200, 429],
    'one shared limit again',
  );
});

t.test('"closed": while Redis is down every limited request is 503 RATE_LIMIT_UNAVAILABLE before any work; it serves again when Redis returns', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const server = await replica(t, redis.url, 'closed');
  const inspect = client(t, redis);
  t.same(await statuses(server, '10.2.0.1', 1), [200]);

  await redis.stop();
  const before = server.service.stats.snapshot();
  for (let i = 0; i < 3; i += 1) {
    const refused = await classify(server, '10.2.0.1');
    t.same([refused.status, refused.code, refused.retryAfter], [503, 'RATE_LIMIT_UNAVAILABLE', '1']);
  }
  t.same(server.service.stats.snapshot(), before, 'nothing reached the batcher');
  t.equal((await server.app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'exempt paths still answer (health checks do not fail with Redis)');

  await redis.start();
  await until(async () => (await classify(server, '10.2.0.2')).status === 200, { what: 'a 200 after Redis returned', timeoutMs: 15_000, intervalMs: 100 });
  t.equal(await inspect.get('capserve:rl:ip:10.2.0.2'), '1', 'counted in Redis again');
});

t.test('"open": while Redis is down nothing is limited; a Redis that is down at start does not stop start-up', async (t) => {
  const unused = await freePort();
  const started = Date.now();
  const server = await replica(t, `redis://127.0.0.1:${unused}`, 'open');
  t.ok(Date.now() - started < 5000, `started in ${Date.now() - started} ms with no Redis`);
  t.same(await statuses(server, '10.3.0.1', max + 3), Array.from({ length: max + 3 }, () => 200), 'no limit while Redis is down');
  t.same(await statuses(server, '10.3.0.2', 1), [200]);
});

t.test('TRUST_PROXY: behind a listed load balancer each forwarded client has its own budget; otherwise the balancer is the client', async (t) => {
  const forwarded = (server: TestServer, client: string) =>
    server.app.inject({ method: 'POST', url: '/classify', payload: classifyBody, remoteAddress: '10.4.0.254', headers: { 'x-forwarded-for': client } });
  const trusting = await startTestServer(t, [recordingCapability('classification')], { rateLimit: { max: 1, windowMs: 60_000 }, trustProxy: ['10.4.0.254'] });
  t.same([(await forwarded(trusting, '192.0.2.1')).statusCode, (await forwarded(trusting, '192.0.2.2')).statusCode, (await forwarded(trusting, '192.0.2.1')).statusCode], [200, 200, 429]);
  const plain = await startTestServer(t, [recordingCapability('classification')], { rateLimit: { max: 1, windowMs: 60_000 } });
  t.same([(await forwarded(plain, '192.0.2.1')).statusCode, (await forwarded(plain, '192.0.2.2')).statusCode], [200, 429], 'X-Forwarded-For from an unlisted peer is not believed');
});
