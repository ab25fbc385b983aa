import t from 'tap';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';

const capabilities = () => {
  const classification = recordingCapability('classification');
  const recommendations = recordingCapability('recommendations', ['classification']);
  const alerts = recordingCapability('alerts', ['classification'], { fail: (texts) => texts.includes('boom') });
  return { classification, recommendations, alerts, all: [classification, recommendations, alerts] };
};

t.test('concurrent requests share one batch and each gets exactly its own results', async (t) => {
  const caps = capabilities();
  const server = await startTestServer(t, caps.all, { windowMs: 50 });
  const [a, b, c] = await Promise.all([
    server.post('/classify', { texts: ['a1', 'a2'], capabilities: ['classification'] }),
    server.post('/classify', { texts: ['b1'], capabilities: ['classification', 'recommendations'] }),
    server.post('/classify', { texts: ['c1', 'c2'], capabilities: ['classification', 'alerts'] }),
  ]);
  t.equal(a.status, 200);
  t.same(a.body.results, [{ classification: 'classification(a1)' }, { classification: 'classification(a2)' }]);
  t.same(b.body.results, [{ classification: 'classification(b1)', recommendations: 'recommendations(b1)' }]);
  t.same(c.body.results, [
    { classification: 'classification(c1)', alerts: 'alerts(c1)' },
    { classification: 'classification(c2)', alerts: 'alerts(c2)' },
  ]);
  t.equal(caps.classification.executions.length, 1, 'classification ran once for all three requests');
  t.same([...(caps.classification.executions[0]?.texts ?? [])].sort(), ['a1', 'a2', 'b1', 'c1', 'c2']);
  t.same(caps.recommendations.executions.map((e) => e.texts), [['b1']]);
  t.same(caps.alerts.executions.map((e) => e.texts), [['c1', 'c2']]);
  t.equal(a.body.batch.requests, 3);
  t.equal(a.body.batch.texts, 5);
  t.equal(a.body.batch.id, b.body.batch.id);
  t.type(a.body.timingMs, 'number');

  const stats = await server.get('/stats');
  t.equal(stats.status, 200);
  t.same(stats.body.executions, { actual: 3, optimal: 3, naive: 5, saved: 2, savedRatio: 0.4, perBatch: 3, per100Requests: 100 });
  t.equal(stats.body.requests.total, 3);
  t.equal(stats.body.batches.total, 1);
  t.equal(stats.body.capabilities.classification.executions, 1);
  t.equal(stats.body.capabilities.classification.texts, 5);
});

t.test('a failing capability answers 500 with its code, only for the requests that needed it', async (t) => {
  const caps = capabilities();
  const server = await startTestServer(t, caps.all, { windowMs: 50 });
  const [failing, fine] = await Promise.all([
    server.post('/classify', { texts: ['boom'], capabilities: ['alerts'] }),
    server.post('/classify', { texts: ['calm'], capabilities: ['classification', 'recommendations'] }),
  ]);
  t.equal(failing.status, 500);
  t.equal(failing.body.error.code, 'CAPABILITY_FAILED');
  t.match(failing.body.error.message, 'alerts exploded');
  t.same(failing.body.error.failures.map((f: { capability: string }) => f.capability), ['alerts']);
  t.notMatch(JSON.stringify(failing.body), /at .*\.ts/, 'no stack trace');
  t.equal(fine.status, 200);
  const after = await server.post('/classify', { texts: ['later'], capabilities: ['alerts'] });
  t.equal(after.status, 200, 'the server keeps serving');
});

const badRequests: [string, unknown, number, string][] = [
  ['missing texts', { capabilities: ['classification'] }, 400, 'VALIDATION_ERROR'],
  ['missing capabilities', { texts: ['x'] }, 400, 'VALIDATION_ERROR'],
  ['texts not an array', { texts: 'x', capabilities: ['classification'] }, 400, 'VALIDATION_ERROR'],
  ['a text that is a number', { texts: [1], capabilities: ['classification'] }, 400, 'VALIDATION_ERROR'],
  ['empty texts', { texts: [], capabilities: ['classification'] }, 400, 'VALIDATION_ERROR'],
  ['an empty text', { texts: [''], capabilities: ['classification'] }, 400, 'VALIDATION_ERROR'],
  ['empty capabilities', { texts: ['x'], capabilities: [] }, 400, 'VALIDATION_ERROR'],
  ['an unknown field', { texts: ['x'], capabilities: ['classification'], extra: 1 }, 400, 'VALIDATION_ERROR'],
  ['a JSON array body', [1, 2], 400, 'VALIDATION_ERROR'],
  ['invalid JSON', '{"texts": [', 400, 'VALIDATION_ERROR'],
  ['an unknown capability', { texts: ['x'], capabilities: ['classification', 'nope'] }, 400, 'UNKNOWN_CAPABILITY'],
  ['a duplicate capability', { texts: ['x'], capabilities: ['alerts', 'alerts'] }, 400, 'DUPLICATE_CAPABILITY'],
  ['too many texts', { texts: Array.from({ length: 9 }, (_, i) => `t${i}`), capabilities: ['classification'] }, 413, 'TOO_MANY_TEXTS'],
  ['a text too long', { texts: ['ok', 'x'.repeat(101)], capabilities: ['classification'] }, 413, 'TEXT_TOO_LONG'],
  ['a body over the limit', { texts: ['x'.repeat(70 * 1024)], capabilities: ['classification'] }, 413, 'PAYLOAD_TOO_LARGE'],
];

t.test('bad requests get a 4xx with a machine-readable code and a message', async (t) => {
  const caps = capabilities();
  const server = await startTestServer(t, caps.all);
  for (const [name, body, status, code] of badRequests) {
    const response = await server.post('/classify', body);
    t.equal(response.status, status, `${name}: status`);
    t.equal(response.body?.error?.code, code, `${name}: code`);
    t.type(response.body?.error?.message, 'string', `${name}: message`);
  }
  const unknown = await server.post('/classify', { texts: ['x'], capabilities: ['nope'] });
  t.same(unknown.body.error.valid, ['alerts', 'classification', 'recommendations'], 'lists the valid names');
  const invalid = await server.post('/classify', { texts: 'x', capabilities: ['classification'] });
  t.ok(Array.isArray(invalid.body.error.issues) && invalid.body.error.issues.length > 0, 'zod issues in the body');
  const wrongType = await server.post('/classify', '<texts/>', { 'content-type': 'application/xml' });
  t.equal(wrongType.status, 415);
  t.equal(wrongType.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
  const missing = await server.get('/nowhere');
  t.equal(missing.status, 404);
  t.equal(missing.body.error.code, 'NOT_FOUND');
  t.equal(caps.classification.executions.length, 0, 'no bad request reached a capability');
  const ok = await server.post('/classify', { texts: ['fine'], capabilities: ['classification'] });
  t.equal(ok.status, 200, 'the server still serves a normal request');
});

t.test('an unavailable capability answers 503 naming why, and spares the others', async (t) => {
  const caps = capabilities();
  const server = await startTestServer(t, caps.all, { unavailable: new Map([['recommendations', 'model "m" is not loaded']]) });
  const blocked = await server.post('/classify', { texts: ['x'], capabilities: ['recommendations'] });
  t.equal(blocked.status, 503);
  t.equal(blocked.body.error.code, 'CAPABILITY_UNAVAILABLE');
  t.match(blocked.body.error.message, 'model "m" is not loaded');
  t.equal((await server.post('/classify', { texts: ['x'], capabilities: ['alerts'] })).status, 200);
});
