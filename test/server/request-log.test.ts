import path from 'node:path';
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { loadConfig } from '../../server/config.js';
import { finishedJob, longText } from '../helpers/job-http.js';
import { LogRecorder, levels, type LogRecord } from '../helpers/log-records.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { serviceApp } from '../helpers/service-app.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';
import { until } from '../helpers/until.js';
import { TestWsClient } from '../helpers/ws-client.js';

/**
 * The request log: one info line per finished request, read as pino records from an in-memory
 * destination, with the request id every response echoes; malformed client ids are replaced
 * and never written.
 */

const json = { 'content-type': 'application/json' };
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Sends a request and returns its status, body and the echoed request id. */
async function send(server: TestServer, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(server.url + url, {
    method,
    headers: body === undefined ? headers : { ...json, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), id: response.headers.get('x-request-id') ?? '' };
}

/** The one `request completed` line of a request id; fails when there is none within the wait, or more than one. */
async function lineOf(t: Test, logs: LogRecorder, id: string): Promise<LogRecord> {
  const line = await logs.next((r) => r.msg === 'request completed' && r.reqId === id, `the line of ${id}`);
  t.equal(logs.withMessage('request completed').filter((r) => r.reqId === id).length, 1, `exactly one line for ${id}`);
  return line;
}

t.test('each request gets one info line with its id, route, status, code, capabilities, batch and duration', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { logLevel: 'info', jobs: {} });
  const { logs } = server;

  const ok = await send(server, 'POST', '/classify', { texts: ['a private sentence'], capabilities: ['classification'] }, { 'x-request-id': 'client-id-1' });
  t.equal(ok.status, 200);
  t.equal(ok.id, 'client-id-1', 'a well-formed id is echoed');
  const line = await lineOf(t, logs, 'client-id-1');
  t.match(line, { level: levels.info, method: 'POST', route: '/classify', status: 200, capabilities: ['classification'], batchIds: [ok.body.batch.id], durationMs: Number });
  t.notOk('code' in line, 'no code on a success');
  t.ok(line.durationMs >= 0);

  const stats = JSON.stringify(server.service.stats.snapshot());
  const unknown = await send(server, 'POST', '/classify', { texts: ['x'], capabilities: ['nope'] });
  t.equal(unknown.status, 400);
  t.equal(unknown.body.error.code, 'UNKNOWN_CAPABILITY');
  t.match(unknown.id, uuid, 'without a header, a generated id is echoed');
  t.match(await lineOf(t, logs, unknown.id), { method: 'POST', route: '/classify', status: 400, code: 'UNKNOWN_CAPABILITY', capabilities: ['nope'] });

  const invalid = await send(server, 'POST', '/classify', { texts: [], capabilities: ['classification'] });
  t.equal(invalid.body.error.code, 'VALIDATION_ERROR');
  const invalidLine = await lineOf(t, logs, invalid.id);
  t.match(invalidLine, { status: 400, code: 'VALIDATION_ERROR' });
  t.notOk('batchIds' in invalidLine, 'a refused request has no batch');
  t.equal(JSON.stringify(server.service.stats.snapshot()), stats, 'nothing refused reached the batcher');

  const missing = await send(server, 'GET', '/jobs/no-such-job?secret=1');
  t.equal(missing.body.error.code, 'JOB_NOT_FOUND');
  t.match(await lineOf(t, logs, missing.id), { method: 'GET', route: '/jobs/:id', status: 404, code: 'JOB_NOT_FOUND' }, 'the route pattern, not the URL');
  const unmatched = await send(server, 'GET', '/no/such/route');
  t.equal(unmatched.status, 404);
  t.match(unmatched.id, uuid, 'a 404 echoes the id');
  t.match(await lineOf(t, logs, unmatched.id), { route: 'unmatched', status: 404, code: 'NOT_FOUND' });

  const inline = await send(server, 'POST', '/process', { text: 'short and sweet', capabilities: ['classification'] }, { 'x-request-id': 'process-inline' });
  t.equal(inline.status, 200);
  t.match(await lineOf(t, logs, 'process-inline'), { route: '/process', status: 200, capabilities: ['classification'], batchIds: [inline.body.batch.id] });
  t.match(await logs.next((r) => r.msg === 'job planned' && r.reqId === 'process-inline', 'the planning line'), { level: levels.info });

  const queued = await send(server, 'POST', '/process', { text: longText, capabilities: ['classification'] }, { 'x-request-id': 'process-queued' });
  t.equal(queued.status, 202);
  t.match(await lineOf(t, logs, 'process-queued'), { route: '/process', status: 202, jobId: queued.body.jobId, capabilities: ['classification'] });
  t.match(await logs.next((r) => r.msg === 'job queued' && r.reqId === 'process-queued', 'the queue line'), { jobId: queued.body.jobId });
  t.equal((await finishedJob(server, queued.body.jobId)).status, 'completed');

  t.equal((await send(server, 'POST', '/classify', { texts: ['after'], capabilities: ['classification'] })).status, 200, 'the server still answers');
  t.notOk(logs.records.some((r) => JSON.stringify(r).includes('a private sentence') || JSON.stringify(r).includes('secret=1')), 'no text and no query in the log');
});

t.test('429s and refused keys carry their code and the echoed id', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], {
    logLevel: 'info',
    rateLimit: { max: 1, windowMs: 60_000 },
    apiKeys: ['app:read:read-key-0123456789abcdef'],
  });
  const auth = { authorization: 'Bearer read-key-0123456789abcdef' };
  t.equal((await send(server, 'POST', '/classify', { texts: ['a'], capabilities: ['classification'] }, auth)).status, 200);
  const limited = await send(server, 'POST', '/classify', { texts: ['b'], capabilities: ['classification'] }, { ...auth, 'x-request-id': 'limited-1' });
  t.equal(limited.status, 429);
  t.equal(limited.body.error.code, 'RATE_LIMITED');
  t.equal(limited.id, 'limited-1');
  t.match(await lineOf(t, server.logs, 'limited-1'), { route: '/classify', status: 429, code: 'RATE_LIMITED' });
  const unauthorised = await send(server, 'GET', '/stats', undefined, { 'x-request-id': 'no-key-1' });
  t.equal(unauthorised.status, 401);
  t.equal(unauthorised.id, 'no-key-1');
  t.match(await lineOf(t, server.logs, 'no-key-1'), { status: 401, code: 'UNAUTHORIZED' });
  t.notOk(JSON.stringify(server.logs.records).includes('read-key-0123456789abcdef'), 'the key is never logged');
});

t.test('a malformed x-request-id is replaced by a generated one and never logged', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { logLevel: 'debug' });
  const exact = 'i'.repeat(128);
  const kept = await send(server, 'GET', '/health', undefined, { 'x-request-id': exact });
  t.equal(kept.id, exact, '128 printable characters are kept');
  await lineOf(t, server.logs, exact);

  // Through a real connection: what node's parser lets through.
  const overHttp = ['x'.repeat(129), 'x'.repeat(10 * 1024), 'caf\u00e9-id', 'two words', 'tab\there'];
  // Through inject: what a client could put on the wire byte by byte, control characters included.
  const injected = ['bell\u0007id', 'nul\u0000id', 'escape\u001b[31mred', 'new\nline', 'del\u007f', '\u00ff\u00fe'];
  const cases: { raw: string; id: string; status: number }[] = [];
  for (const raw of overHttp) {
    const answered = await send(server, 'GET', '/health', undefined, { 'x-request-id': raw });
    cases.push({ raw, id: answered.id, status: answered.status });
  }
  for (const raw of injected) {
    const answered = await server.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': raw } });
    cases.push({ raw, id: String(answered.headers['x-request-id']), status: answered.statusCode });
  }
  for (const { raw, id, status } of cases) {
    t.equal(status, 200, `${JSON.stringify(raw.slice(0, 20))}: answered`);
    t.match(id, uuid, `${JSON.stringify(raw.slice(0, 20))}: replaced by a generated id`);
    await lineOf(t, server.logs, id);
  }
  t.equal(new Set(cases.map((c) => c.id)).size, cases.length, 'each replaced id is new');
  const written = server.logs.records.map((r) => JSON.stringify(r)).join('\n');
  for (const { raw } of cases) t.notOk(written.includes(JSON.stringify(raw).slice(1, -1)), `${JSON.stringify(raw.slice(0, 20))} is not in the log`);
  t.notOk(written.includes('x'.repeat(129)), 'no long id in the log');
  t.equal((await send(server, 'POST', '/classify', { texts: ['after'], capabilities: ['classification'] })).status, 200, 'the server still answers');
});

t.test('WebSocket: the upgrade echoes the id, each message gets a line with it and the message id', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { logLevel: 'info', jobs: {} });
  const { logs } = server;
  const wsUrl = server.url.replace('http', 'ws') + '/ws';

  const upgradeId = await new Promise<string | undefined>((resolve, reject) => {
    const probe = new WebSocket(wsUrl, { headers: { 'x-request-id': 'ws-probe' } });
    probe.once('upgrade', (response) => resolve(response.headers['x-request-id'] as string | undefined));
    probe.once('open', () => probe.close());
    probe.once('error', reject);
  });
  t.equal(upgradeId, 'ws-probe', 'the 101 carries the id');

  const client = await TestWsClient.connect(wsUrl, { headers: { 'x-request-id': 'ws-conn-1' } });
  client.send({ id: 'm1', texts: ['hello'], capabilities: ['classification'] });
  const done = await client.next((m) => m.id === 'm1' && m.type === 'done');
  client.send('not json');
  await client.next((m) => m.type === 'error' && m.code === 'VALIDATION_ERROR' && m.id === undefined);
  client.send({ id: 'bad\u0001id', texts: ['x'], capabilities: ['nope'] });
  await client.next((m) => m.type === 'error' && m.code === 'UNKNOWN_CAPABILITY');
  client.send({ id: 'p1', type: 'process', text: 'short and sweet', capabilities: ['classification'] });
  await client.next((m) => m.id === 'p1' && m.type === 'done');

  const messageLines = await until(() => {
    const lines = logs.withMessage('websocket message');
    return lines.length === 4 ? lines : undefined;
  }, { what: 'the four message lines' });
  t.ok(messageLines.every((r) => r.reqId === 'ws-conn-1' && r.level === levels.info), 'every message line carries the connection id');
  t.match(messageLines.find((r) => r.messageId === 'm1'), { type: 'classify', capabilities: ['classification'], batchIds: [done.batch.id], durationMs: Number });
  t.ok(messageLines.some((r) => r.code === 'VALIDATION_ERROR' && !('messageId' in r)), 'the non-JSON message');
  const refused = messageLines.find((r) => r.code === 'UNKNOWN_CAPABILITY');
  t.match(refused, { type: 'classify', capabilities: ['nope'] });
  t.notOk(refused !== undefined && 'messageId' in refused, 'a message id with a control character is left out');
  t.match(messageLines.find((r) => r.messageId === 'p1'), { type: 'process', capabilities: ['classification'], batchIds: [Number] });
  t.ok(logs.records.some((r) => r.msg === 'job planned' && r.reqId === 'ws-conn-1'), "the job's line carries the connection id");

  await client.close();
  t.match(await logs.next((r) => r.msg === 'websocket closed' && r.reqId === 'ws-conn-1', 'the close line'), { route: '/ws', messages: 4, durationMs: Number });
});

t.test('protocol routes note their capability and batch (tiny BERT)', async (t) => {
  const dir = await tinyBertDir();
  const config = loadConfig({ PORT: '0', MODELS_DIR: path.dirname(dir), CAPABILITIES_CONFIG: path.join(dir, 'capabilities.json') });
  const capabilities = parseCapabilitiesConfig({
    models: [{ name: 'tiny-embedder', backend: 'onnx', task: 'embedding', path: path.basename(dir) }],
    capabilities: [{ name: 'embedding', kind: 'embedding', model: 'tiny-embedder' }],
  });
  const logs = new LogRecorder('info');
  const { app, service } = await serviceApp(t, config, capabilities, logs.logger);
  await service.start();
  const requests = [
    { url: '/embed', payload: { inputs: ['tei text'] }, id: 'tei-1' },
    { url: '/v1/embeddings', payload: { model: 'embedding', input: ['openai text'] }, id: 'openai-1' },
  ];
  for (const { url, payload, id } of requests) {
    const response = await app.inject({ method: 'POST', url, payload, headers: { 'x-request-id': id } });
    t.equal(response.statusCode, 200, `${url} answers`);
    t.equal(response.headers['x-request-id'], id);
    t.match(await lineOf(t, logs, id), { route: url, status: 200, capabilities: ['embedding'], batchIds: [Number] });
  }
  const refused = await app.inject({ method: 'POST', url: '/v1/embeddings', payload: { model: 'no-such-model', input: ['x'] }, headers: { 'x-request-id': 'openai-2' } });
  t.ok(refused.statusCode >= 400, refused.body);
  t.match(await lineOf(t, logs, 'openai-2'), { route: '/v1/embeddings', status: refused.statusCode, code: String });
});
