import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { WebSocket } from 'ws';
import { ApiKeys, parseApiKeys } from '../../server/api-keys.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';

const key = 'k3y-for-tests-0123456789';
const other = 'another-key-abcdefghijkl';

t.test('with API keys, routes need a bearer key; health and metrics stay open', async (t) => {
  const classification = recordingCapability('classification');
  const server = await startTestServer(t, [classification], { apiKeys: [key, other] });
  const body = JSON.stringify({ texts: ['x'], capabilities: ['classification'] });
  const post = (headers: Record<string, string>) =>
    fetch(`${server.url}/classify`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  const none = await post({});
  t.equal(none.status, 401);
  t.equal(none.headers.get('www-authenticate'), 'Bearer');
  t.equal(((await none.json()) as any).error.code, 'UNAUTHORIZED');
  const wrong = await post({ authorization: `Bearer ${key}x` });
  t.equal(wrong.status, 403);
  t.equal(((await wrong.json()) as any).error.code, 'FORBIDDEN');
  t.equal((await post({ authorization: `Basic ${key}` })).status, 401, 'only bearer keys');
  t.equal(classification.executions.length, 0, 'nothing ran for refused requests');

  t.equal((await post({ authorization: `Bearer ${key}` })).status, 200);
  t.equal((await post({ authorization: `bearer ${other}` })).status, 200, 'any configured key; the scheme is case-insensitive');
  for (const open of ['/health', '/health/ready', '/metrics']) t.equal((await server.get(open)).status, 200, open);
  t.equal((await server.get('/stats')).status, 401);
});

t.test('the WebSocket upgrade is refused without a key and accepted with one', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { apiKeys: [key] });
  const url = `${server.url.replace('http', 'ws')}/ws`;
  const status = await new Promise<number>((resolve) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (request, response) => {
      resolve(response.statusCode ?? 0);
      // With this listener, ws leaves the refused connection to us.
      request.destroy();
    });
    socket.on('open', () => resolve(101));
    socket.on('error', () => {});
  });
  t.equal(status, 401);
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${key}` } });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.close();
  await closed;
});

t.test('keys come from a list or a file; short keys are refused without echoing them', async (t) => {
  t.same(parseApiKeys(undefined), []);
  t.same(parseApiKeys(` ${key} , ${other} `), [key, other]);
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'keys');
  await writeFile(file, `# rotated monthly\n${key}\n\n${other}\n`);
  t.same(parseApiKeys(`file:${file}`), [key, other]);
  t.throws(() => parseApiKeys('short'), { code: 'CONFIG_INVALID', message: /key 1 is shorter/ });
  t.notMatch((() => { try { parseApiKeys(`${key},tiny-secret`); } catch (e) { return (e as Error).message; } return ''; })(), /tiny-secret/);
  t.throws(() => parseApiKeys(`file:${path.join(dir, 'missing')}`), { code: 'CONFIG_INVALID' });
  const keys = new ApiKeys([key]);
  t.ok(keys.accepts(key));
  t.notOk(keys.accepts(key.slice(0, -1)));
  t.notOk(new ApiKeys([]).enabled);
});

t.test('rate limits apply per API key (else per IP), answer 429 RATE_LIMITED with Retry-After, and spare health checks', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { apiKeys: [key, other], rateLimit: { max: 3, windowMs: 60_000 } });
  const post = (apiKey: string) =>
    fetch(`${server.url}/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ texts: ['x'], capabilities: ['classification'] }),
    });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i += 1) statuses.push((await post(key)).status);
  t.same(statuses, [200, 200, 200, 429]);
  const limited = await post(key);
  t.equal(limited.status, 429);
  t.ok(Number(limited.headers.get('retry-after')) >= 1, `Retry-After ${limited.headers.get('retry-after')}`);
  t.match(((await limited.json()) as any).error, { code: 'RATE_LIMITED', limit: 3 });
  t.equal((await post(other)).status, 200, 'another key has its own budget');
  for (let i = 0; i < 5; i += 1) t.equal((await server.get('/health')).status, 200);
});
