import t from 'tap';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';

const capabilities = () => [recordingCapability('base'), recordingCapability('derived', ['base'])];

t.test('before start-up finishes: alive, not ready, and requests get NOT_READY', async (t) => {
  const server = await startTestServer(t, capabilities(), { start: false });
  const health = await server.get('/health');
  t.equal(health.status, 200);
  t.equal(health.body.status, 'ok');
  const ready = await server.get('/health/ready');
  t.equal(ready.status, 503);
  t.equal(ready.body.ready, false);
  const classify = await server.post('/classify', { texts: ['x'], capabilities: ['base'] });
  t.equal(classify.status, 503);
  t.equal(classify.body.error.code, 'NOT_READY');
  await server.service.start();
  t.equal((await server.get('/health/ready')).status, 200);
});

t.test('GET /capabilities lists dependencies, model, backend and device', async (t) => {
  const server = await startTestServer(t, capabilities());
  const response = await server.get('/capabilities');
  t.equal(response.status, 200);
  t.same(response.body.capabilities, [
    { name: 'base', dependsOn: [], kind: 'custom', model: null, backend: null, device: 'cpu', available: true },
    { name: 'derived', dependsOn: ['base'], kind: 'custom', model: null, backend: null, device: 'cpu', available: true },
  ]);
});

t.test('GET /metrics exposes request, batch and capability metrics', async (t) => {
  const server = await startTestServer(t, capabilities());
  t.equal((await server.post('/classify', { texts: ['a', 'b'], capabilities: ['derived'] })).status, 200);
  const metrics = await server.get('/metrics');
  t.equal(metrics.status, 200);
  t.match(metrics.headers.get('content-type'), 'text/plain');
  for (const line of [
    /capserve_http_request_duration_seconds_count\{method="POST",route="\/classify",status="200"\} 1/,
    /capserve_batch_size_texts_count 1/,
    /capserve_capability_executions_total\{capability="base",outcome="ok"\} 1/,
    /capserve_capability_executions_total\{capability="derived",outcome="ok"\} 1/,
    /capserve_executions_total\{kind="actual"\} 2/,
    /capserve_queue_depth_texts\{state="queued"\} 0/,
    /capserve_texts_total 2/,
  ]) {
    t.match(metrics.text, line);
  }
});

t.test('GET /docs/json serves the OpenAPI document with the classify schema', async (t) => {
  const server = await startTestServer(t, capabilities());
  const docs = await server.get('/docs/json');
  t.equal(docs.status, 200);
  t.match(docs.body.openapi, /^3\./);
  const classify = docs.body.paths['/classify'].post;
  t.ok(classify, 'documents POST /classify');
  const schema = classify.requestBody.content['application/json'].schema;
  t.same([...schema.required].sort(), ['capabilities', 'texts']);
  t.ok(docs.body.paths['/stats'] && docs.body.paths['/capabilities'] && docs.body.paths['/health/ready']);
});

t.test('stopping: readiness false and new requests get SHUTTING_DOWN', async (t) => {
  const server = await startTestServer(t, capabilities());
  await server.service.stop(1000);
  t.equal((await server.get('/health/ready')).status, 503);
  const response = await server.post('/classify', { texts: ['x'], capabilities: ['base'] });
  t.equal(response.status, 503);
  t.equal(response.body.error.code, 'SHUTTING_DOWN');
});
