import t from 'tap';
import { levels } from '../helpers/log-records.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';
import { until } from '../helpers/until.js';

/**
 * What the server logs, read as pino records from an in-memory destination: request lines
 * carry the request id, batch lines the batch id, and no line carries a text.
 */

const json = { 'content-type': 'application/json' };

t.test('each request gets one info line with its request id, method, route, status and time', async (t) => {
  const server = await startTestServer(t, [recordingCapability('classification')], { logLevel: 'debug' });
  const ok = await server.post('/classify', { texts: ['a private sentence'], capabilities: ['classification'] }, { ...json, 'x-request-id': 'client-id-1' });
  t.equal(ok.status, 200);
  // Written by the onResponse hook, after the reply has gone: await it.
  const line = await server.logs.next((r) => r.msg === 'request completed' && r.reqId === 'client-id-1', 'the line of POST /classify');
  t.match(line, { level: levels.info, reqId: 'client-id-1', method: 'POST', route: '/classify', status: 200, durationMs: Number });
  t.ok(line.durationMs >= 0, 'the response time in ms');

  const refused = await server.post('/classify', { texts: ['x'], capabilities: ['nope'] }, { ...json, 'x-request-id': 'client-id-2' });
  t.equal(refused.body.error.code, 'UNKNOWN_CAPABILITY');
  const refusedLine = await server.logs.next((r) => r.msg === 'request completed' && r.reqId === 'client-id-2', 'the line of the refused request');
  t.match(refusedLine, { level: levels.info, method: 'POST', route: '/classify', status: 400, code: 'UNKNOWN_CAPABILITY' });

  // Without the header, each request gets an id of its own.
  await server.post('/classify', { texts: ['b'], capabilities: ['classification'] });
  await server.post('/classify', { texts: ['c'], capabilities: ['classification'] });
  const lines = await until(() => {
    const written = server.logs.withMessage('request completed');
    return written.length === 4 ? written : undefined;
  }, { what: 'the lines of all four requests' });
  const ids = lines.map((r) => r.reqId as unknown);
  t.equal(new Set(ids).size, 4, `one line per request, each with its own id: ${ids.join(', ')}`);
  t.ok(ids.every((id) => typeof id === 'string' && id !== ''), 'generated ids are strings');
  t.notOk(server.logs.records.some((r) => JSON.stringify(r).includes('a private sentence')), 'no record carries a text');
});

t.test('each batch gets one debug line with its batch id and what it ran', async (t) => {
  const classification = recordingCapability('classification');
  const server = await startTestServer(t, [classification], { logLevel: 'debug' });
  t.equal((await server.post('/classify', { texts: ['one', 'two'], capabilities: ['classification'] })).status, 200);
  const first = await server.logs.next((r) => r.msg === 'batch finished', 'the first batch line');
  t.match(first, { level: levels.debug, batchId: Number, executions: 1, capabilities: 1, naiveExecutions: 1, durationMs: Number });
  t.equal(classification.executions.length, 1, 'one batch, one execution');

  t.equal((await server.post('/classify', { texts: ['three'], capabilities: ['classification'] })).status, 200);
  const second = await server.logs.next((r) => r.msg === 'batch finished' && r.batchId !== first.batchId, 'the second batch line');
  t.ok(second.batchId > first.batchId, 'batch ids grow');
  t.equal(server.logs.withMessage('batch finished').length, 2, 'one line per batch');
});

t.test('a capability that fails is logged at warn with its batch id, the count of texts, and no text', async (t) => {
  const flaky = recordingCapability('flaky', [], { fail: (texts) => texts.includes('boom, a private text') });
  const server = await startTestServer(t, [flaky], { logLevel: 'debug' });
  await server.post('/classify', { texts: ['boom, a private text'], capabilities: ['flaky'] });
  const failed = await server.logs.next((r) => r.msg === 'capability failed', 'the failure line');
  const batch = await server.logs.next((r) => r.msg === 'batch finished', 'the batch line');
  t.match(failed, { level: levels.warn, capability: 'flaky', texts: 1, batchId: batch.batchId });
  t.notOk(server.logs.records.some((r) => JSON.stringify(r).includes('boom, a private text')), 'no record carries the text');
});
