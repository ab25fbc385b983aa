import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { WebSocket } from 'ws';
import { projectRoot } from '../../core/project-root.js';
import { redactPaths } from '../../core/redact-paths.js';
import { loadConfig } from '../../server/config.js';
import { checkExposure, isLoopback } from '../../server/exposure.js';
import { roleFor } from '../../server/route-roles.js';
import { gatedCapability, longText } from '../helpers/job-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestWsClient } from '../helpers/ws-client.js';

const adminKey = 'admin-key-0123456789abcdef';
const readKey = 'read-key-0123456789abcdefgh';
const keys = `ops:admin:${adminKey},app:read:${readKey}`;
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const classifyBody = { texts: ['x'], capabilities: ['classification'] };

t.test('without API keys, an unverified bearer token is not a rate-limit identity: the address is', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { rateLimit: { max: 3, windowMs: 60_000 } });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const reply = await server.app.inject({ method: 'POST', url: '/classify', headers: bearer(`random-token-${i}-${Math.random()}`), payload: classifyBody });
    statuses.push(reply.statusCode);
    if (reply.statusCode === 429) t.equal(reply.json().error.code, 'RATE_LIMITED');
  }
  t.same(statuses, [200, 200, 200, 429, 429], 'a new token per request does not reset the budget');
  const other = await server.app.inject({ method: 'POST', url: '/classify', remoteAddress: '10.0.0.9', payload: classifyBody });
  t.equal(other.statusCode, 200, 'another address has its own budget');
});

t.test('with keys, the budget is per verified key label; a wrong key never gets its own budget', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { apiKeys: keys.split(','), rateLimit: { max: 2, windowMs: 60_000 } });
  const post = (headers: Record<string, string>) => server.app.inject({ method: 'POST', url: '/classify', headers, payload: classifyBody });
  t.same([(await post(bearer(readKey))).statusCode, (await post(bearer(readKey))).statusCode, (await post(bearer(readKey))).statusCode], [200, 200, 429]);
  t.equal((await post(bearer(adminKey))).statusCode, 200, 'the other key has its own budget');
});

t.test('failed authentications are limited per address: 429 RATE_LIMITED with Retry-After, a valid key included', async (t) => {
  const classification = recordingCapability('classification');
  const server = await startTestServer(t, [classification], { apiKeys: keys.split(','), authFailureLimit: 3 });
  const post = (headers: Record<string, string>, remoteAddress = '127.0.0.1') =>
    server.app.inject({ method: 'POST', url: '/classify', headers, payload: classifyBody, remoteAddress });
  const before = server.service.stats.snapshot();
  t.same(
    [(await post(bearer(`${adminKey}x`))).statusCode, (await post({})).statusCode, (await post(bearer(`guess-${'y'.repeat(20)}`))).statusCode],
    [403, 401, 403],
  );
  for (const headers of [bearer('another-guess-0123456789'), bearer(adminKey)]) {
    const limited = await post(headers);
    t.equal(limited.statusCode, 429);
    t.equal(limited.json().error.code, 'RATE_LIMITED');
    t.ok(Number(limited.headers['retry-after']) >= 1, `Retry-After ${String(limited.headers['retry-after'])}`);
  }
  t.same(server.service.stats.snapshot(), before, 'nothing reached the batcher');
  t.equal(classification.executions.length, 0);
  const elsewhere = await post(bearer(readKey), '10.0.0.7');
  t.equal(elsewhere.statusCode, 200, 'another address still answers normally');
  t.equal((await server.app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'exempt paths are not limited');
});

t.test('API_KEYS entries carry a label and a role; bare keys stay admin; problems never echo a key', async (t) => {
  const config = loadConfig({ API_KEYS: `${keys},legacy-key-0123456789abc` });
  t.ok(config.apiKeys.enabled);
  t.same(config.apiKeys.check(`Bearer ${readKey}`), { label: 'app', role: 'read' });
  t.same(config.apiKeys.check(`Bearer ${adminKey}`), { label: 'ops', role: 'admin' });
  t.same(config.apiKeys.check('Bearer legacy-key-0123456789abc'), { label: 'key-3', role: 'admin' });
  t.throws(() => loadConfig({ API_KEYS: 'ops:admin:short' }), { code: 'CONFIG_INVALID', message: /key 1 is shorter/ });
  t.throws(() => loadConfig({ API_KEYS: `ops:admin:${adminKey},ops:read:${readKey}` }), { code: 'CONFIG_INVALID', message: /label "ops"/ });
  const message = (() => {
    try {
      loadConfig({ API_KEYS: `ops:admin:${adminKey},app:read:tiny-secret` });
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  })();
  t.notMatch(message, /tiny-secret|admin-key/);
  t.equal(roleFor('POST', '/classify'), 'read');
  t.equal(roleFor('POST', '/v1/embeddings'), 'read');
  t.equal(roleFor('GET', '/models'), 'read');
  t.equal(roleFor('POST', '/models/:name/default'), 'admin');
  t.equal(roleFor('POST', '/admin/reload'), 'admin');
  t.equal(roleFor('GET', '/audit'), 'admin');
  t.equal(roleFor('POST', '/datasets'), 'admin');
  t.equal(roleFor('GET', '/some-future-route'), 'admin', 'a route not listed needs admin');
});

t.test('a read key serves but cannot administer; audit entries name the key label', async (t) => {
  const dir = await testDir(t, 'roles');
  const server = await startFullServer(t, {
    API_KEYS: keys,
    CAPABILITIES_CONFIG: await writeCapabilities(dir),
    MODEL_REPOSITORY: path.join(dir, 'repository'),
    SQLITE_PATH: ':memory:',
    MEASURE_COST_CURVE: '0',
  });
  const asRead = bearer(readKey);
  const asAdmin = bearer(adminKey);
  const before = server.server.service.stats.snapshot();
  for (const [method, route, body] of [
    ['POST', '/admin/reload', undefined],
    ['POST', '/models/m/default', { version: 1 }],
    ['POST', '/reviewers', { name: 'Ana', specialisations: ['*'] }],
    ['GET', '/audit', undefined],
    ['POST', '/datasets', { name: 'd', examples: [{ text: 'a', label: 'x' }] }],
    ['POST', '/train', { model: 'm', examples: [{ text: 'a', label: 'x' }] }],
  ] as const) {
    const refused = await server.request(method, route, body, asRead);
    t.equal(refused.status, 403, `${method} ${route}`);
    t.equal(refused.body.error.code, 'FORBIDDEN');
    t.match(refused.body.error.message, /read role.*needs an admin key/);
  }
  t.same(server.server.service.stats.snapshot(), before, 'nothing reached the batcher');
  t.equal((await server.request('POST', '/classify', { texts: ['hello'], capabilities: ['stats'] }, asRead)).status, 200, 'a read key classifies');
  t.equal((await server.request('GET', '/capabilities', undefined, asRead)).status, 200);
  t.equal((await server.request('GET', '/models', undefined, asRead)).status, 200);

  const added = await server.request('POST', '/reviewers', { name: 'Ana', specialisations: ['*'] }, asAdmin);
  t.equal(added.status, 201);
  t.equal((await server.request('POST', '/admin/reload', undefined, asAdmin)).status, 200);
  const audit = await server.request('GET', `/audit?subject=reviewer:${added.body.id as string}`, undefined, asAdmin);
  t.same(audit.body.entries.map((e: { actor: string; action: string }) => [e.actor, e.action]), [['ops', 'reviewer.added']]);
});

t.test('stored texts follow one well-formed-Unicode rule: data sets, CSV, reviewers and labels', async (t) => {
  const dir = await testDir(t, 'unicode');
  const server = await startFullServer(t, {
    CAPABILITIES_CONFIG: await writeCapabilities(dir),
    MODEL_REPOSITORY: path.join(dir, 'repository'),
    SQLITE_PATH: ':memory:',
    MEASURE_COST_CURVE: '0',
  });
  // JSON escapes (`\ud800`) are the only way a lone surrogate arrives: raw UTF-8 cannot carry one,
  // and a text/csv body decodes malformed bytes to U+FFFD.
  const lone = 'bad \ud800 text';
  const cases: [string, string, unknown, Record<string, string>?][] = [
    ['POST', '/datasets', { name: 'd', examples: [{ text: lone, label: 'x' }, { text: 'ok', label: 'y' }] }],
    ['POST', '/datasets', { name: 'd', examples: [{ text: 'fine', label: `l\udc00` }, { text: 'ok', label: 'y' }] }],
    ['POST', '/datasets', { name: `n\ud800`, examples: [{ text: 'a', label: 'x' }] }],
    ['POST', '/datasets', { name: 'd', csv: `text,label\n${lone},x\n` }],
    ['POST', '/train', { model: 'm', features: { kind: 'tfidf' }, examples: [{ text: lone, label: 'x' }, { text: 'b', label: 'y' }] }],
    ['POST', '/reviewers', { name: `Ana\ud800`, specialisations: ['*'] }],
    ['POST', '/reviews/r1', { reviewer: 'ana', label: `x\udfff` }],
  ];
  for (const [method, route, body, headers] of cases) {
    const refused = await server.request(method, route, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json', ...headers });
    t.equal(refused.status, 400, `${route} ${JSON.stringify(body).slice(0, 60)}`);
    t.equal(refused.body.error.code, 'VALIDATION_ERROR');
  }
  t.same((await server.request('GET', '/datasets')).body.datasets, [], 'nothing was stored');
  const stored = await server.request('POST', '/datasets', { name: 'd', examples: [{ text: 'a 😀 b', label: 'x' }, { text: 'ok', label: 'y' }] });
  t.equal(stored.status, 201, 'a well-formed astral character is fine');
});

t.test('browser origins: unlisted ones cannot change state or open the WebSocket; listed ones get CORS headers', async (t) => {
  const classification = recordingCapability('classification');
  const server = await startTestServer(t, [classification], { jobs: {}, apiKeys: [adminKey], corsOrigins: ['https://app.example'] });
  const evil = { origin: 'https://evil.example' };
  const before = server.service.stats.snapshot();
  for (const [method, url] of [['POST', '/classify'], ['POST', '/process'], ['DELETE', '/jobs/x'], ['OPTIONS', '/classify']] as const) {
    const refused = await server.app.inject({
      method,
      url,
      headers: { ...evil, ...bearer(adminKey), ...(method === 'OPTIONS' ? { 'access-control-request-method': 'POST' } : {}) },
      ...(method === 'POST' ? { payload: { ...classifyBody, text: 'x' } } : {}),
    });
    t.equal(refused.statusCode, 403, `${method} ${url}`);
    t.equal(refused.json().error.code, 'ORIGIN_FORBIDDEN');
    t.notOk(refused.headers['access-control-allow-origin']);
  }
  // A multipart form post is a "simple" request: a browser sends it without a preflight.
  const form = new FormData();
  form.append('file', new Blob(['hello there']), 't.txt');
  const multipart = await fetch(`${server.url}/process`, { method: 'POST', headers: { ...evil, ...bearer(adminKey) }, body: form });
  t.equal(multipart.status, 403);
  t.equal(((await multipart.json()) as any).error.code, 'ORIGIN_FORBIDDEN');
  t.same(server.service.stats.snapshot(), before, 'nothing reached the batcher');
  t.equal(classification.executions.length, 0);

  const read = await server.app.inject({ method: 'GET', url: '/capabilities', headers: { ...evil, ...bearer(adminKey) } });
  t.equal(read.statusCode, 200, 'a GET goes on');
  t.notOk(read.headers['access-control-allow-origin'], '...without CORS headers, so the page cannot read it');

  const preflight = await server.app.inject({
    method: 'OPTIONS',
    url: '/classify',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  t.equal(preflight.statusCode, 204, 'a listed origin\'s preflight is answered without a key');
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
  t.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
  const listed = await server.app.inject({ method: 'POST', url: '/classify', headers: { origin: 'https://app.example', ...bearer(adminKey) }, payload: classifyBody });
  t.equal(listed.statusCode, 200);
  t.equal(listed.headers['access-control-allow-origin'], 'https://app.example');
  t.equal((await server.app.inject({ method: 'POST', url: '/classify', headers: bearer(adminKey), payload: classifyBody })).statusCode, 200, 'no Origin: not a browser, not affected');

  const wsUrl = `${server.url.replace('http', 'ws')}/ws`;
  const upgrade = (origin: string) =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(wsUrl, { origin, headers: bearer(adminKey) });
      socket.on('unexpected-response', (request, response) => {
        resolve(response.statusCode ?? 0);
        request.destroy();
      });
      socket.on('open', () => {
        resolve(101);
        socket.close();
      });
      socket.on('error', () => {});
    });
  t.equal(await upgrade('https://evil.example'), 403, 'the WebSocket refuses an unlisted origin');
  t.equal(await upgrade('https://app.example'), 101, 'and accepts a listed one');
});

t.test('WebSocket subscribe and cancel reach only jobs of the same key (without keys, the same socket)', async (t) => {
  t.test('without keys', async (t) => {
    const { capability: slow, release } = gatedCapability('slow');
    const server = await startTestServer(t, [slow], { jobs: { queueConcurrency: 1 } });
    t.teardown(release);
    const url = `${server.url.replace('http', 'ws')}/ws`;
    const owner = await TestWsClient.connect(url);
    const stranger = await TestWsClient.connect(url);
    t.teardown(() => { owner.close(); stranger.close(); });
    owner.send({ id: 'p', type: 'process', text: longText, capabilities: ['slow'] });
    const queued = await owner.next((m) => m.id === 'p' && m.type === 'queued');
    stranger.send({ id: 's', type: 'subscribe', jobId: queued.jobId });
    stranger.send({ id: 'c', type: 'cancel', jobId: queued.jobId });
    t.equal((await stranger.next((m) => m.id === 's')).code, 'JOB_NOT_FOUND');
    t.equal((await stranger.next((m) => m.id === 'c')).code, 'JOB_NOT_FOUND');
    owner.send({ id: 'c2', type: 'cancel', jobId: queued.jobId });
    t.equal((await owner.next((m) => m.id === 'c2')).type, 'cancelled', 'the socket that created it can');
    stranger.send({ id: 'ok', texts: ['x'], capabilities: ['slow'] });
    release();
    t.equal((await stranger.next((m) => m.id === 'ok' && m.type !== 'result')).type, 'done', 'the stranger\'s socket still serves');
  });

  t.test('with keys', async (t) => {
    const server = await startTestServer(t, [recordingCapability('classification')], { jobs: {}, apiKeys: keys.split(',') });
    const url = `${server.url.replace('http', 'ws')}/ws`;
    const connect = async (key: string) => {
      const client = await TestWsClient.connect(url, { headers: bearer(key) });
      t.teardown(() => client.close());
      return client;
    };
    const queued = await fetch(`${server.url}/process`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(readKey) }, body: JSON.stringify({ text: longText, capabilities: ['classification'] }) });
    t.equal(queued.status, 202);
    const { jobId } = (await queued.json()) as { jobId: string };
    const sameKey = await connect(readKey);
    sameKey.send({ id: 's', type: 'subscribe', jobId });
    t.equal((await sameKey.next((m) => m.id === 's' && m.type !== 'progress')).type, 'result', 'the key that created it over HTTP follows it');
    const otherKey = await connect(adminKey);
    otherKey.send({ id: 's', type: 'subscribe', jobId });
    otherKey.send({ id: 'c', type: 'cancel', jobId });
    t.equal((await otherKey.next((m) => m.id === 's')).code, 'JOB_NOT_FOUND');
    t.equal((await otherKey.next((m) => m.id === 'c')).code, 'JOB_NOT_FOUND');
  });
});

t.test('a non-loopback HOST without API keys refuses to start unless ALLOW_UNAUTHENTICATED=1', async (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) t.ok(isLoopback(host), host);
  for (const host of ['0.0.0.0', '::', '10.1.2.3', 'example.com']) t.notOk(isLoopback(host), host);
  t.throws(() => checkExposure(loadConfig({ HOST: '0.0.0.0' })), { code: 'CONFIG_INVALID', message: /API_KEYS.*ALLOW_UNAUTHENTICATED/ });
  t.doesNotThrow(() => checkExposure(loadConfig({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: '1' })));
  t.doesNotThrow(() => checkExposure(loadConfig({ HOST: '0.0.0.0', API_KEYS: keys })));
  t.doesNotThrow(() => checkExposure(loadConfig({})));

  // The real entry point: it exits before loading anything.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot(), 'server', 'main.ts')], {
    env: { ...process.env, HOST: '0.0.0.0', PORT: '0', API_KEYS: '', ALLOW_UNAUTHENTICATED: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.teardown(() => child.kill());
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  t.equal(code, 1);
  t.match(stderr, /capserve failed to start: HOST=0\.0\.0\.0 .*API_KEYS/);
});

t.test('error bodies never echo file contents or absolute paths', async (t) => {
  const dir = await testDir(t, 'leak');
  const file = await writeCapabilities(dir);
  const server = await startFullServer(t, { CAPABILITIES_CONFIG: file, MODEL_REPOSITORY: path.join(dir, 'repository'), SQLITE_PATH: ':memory:', MEASURE_COST_CURVE: '0' });
  const secrets = [
    'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n',
    'root:*:20228:0:99999:7::\nsecret: hunter2-password\n',
    // A key that could be a misspelt setting is named; its value never is.
    '{ "capabilities": [], "password": "hunter2", "db.example:5432:hunter2": 1 }',
    'key: [unclosed hunter2-password',
  ];
  for (const content of secrets) {
    await writeFile(file, content);
    const reload = await server.request('POST', '/admin/reload');
    t.equal(reload.status, 422);
    t.equal(reload.body.error.code, 'RELOAD_REJECTED');
    t.notMatch(reload.text, /root:|hunter2|daemon|\/bin\/bash/, 'no content');
    t.notMatch(reload.text, dir, 'no absolute path');
    t.match(reload.body.error.message, /CAPABILITIES_CONFIG/, 'the file is named by its setting');
  }
  await writeFile(file, '{ "capabilities": [{ "name": "stats", "kind": "text-stats" }], "capabilites": [] }');
  t.match((await server.request('POST', '/admin/reload')).body.error.message, /Unrecognized key: "capabilites"/, 'a misspelt key is still named');
  await rm(file);
  const missing = await server.request('POST', '/admin/reload');
  t.equal(missing.status, 422);
  t.notMatch(missing.text, dir);
  t.match(missing.body.error.message, /ENOENT/);
  t.equal((await server.request('POST', '/classify', { texts: ['still serving'], capabilities: ['stats'] })).status, 200, 'the running configuration serves');
  t.equal(redactPaths(`cannot open ${path.join(projectRoot(), 'models', 'm.onnx')} or /etc/passwd`), 'cannot open models/m.onnx or …/passwd');
});
