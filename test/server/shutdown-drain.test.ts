import t from 'tap';
import { startFullServer, testDir, writeCapabilities } from '../helpers/full-server.js';

t.test('SHUTDOWN_DELAY_MS: readiness turns 503 (draining) while requests are still served, then the listener closes', async (t) => {
  const dir = await testDir(t, 'drain');
  const config = await writeCapabilities(dir);
  const server = await startFullServer(t, { CAPABILITIES_CONFIG: config, SHUTDOWN_DELAY_MS: '1500' }, { logLevel: 'info' });
  const before = await server.request('GET', '/health/ready');
  t.equal(before.status, 200);

  const stopped = server.stop();
  const ready = await server.request('GET', '/health/ready');
  t.equal(ready.status, 503, 'the balancer is asked to stop sending');
  t.match(ready.body, { ready: false, phase: 'draining' });
  const served = await server.request('POST', '/classify', { texts: ['still here'], capabilities: ['stats'] });
  t.equal(served.status, 200, 'work that still arrives is served during the drain');
  t.match(await server.request('GET', '/metrics'), { text: /capserve_ready 0\b/ });

  await stopped;
  const messages = server.logs.records.map((record) => record.msg);
  t.ok(messages.indexOf('draining: readiness answers 503 until the listener closes') >= 0, 'the drain is logged');
  await t.rejects(fetch(`${server.url}/health`), 'the listener is closed after the drain');
});

t.test('SHUTDOWN_DELAY_MS=0 (the default): no drain, readiness answers until the stop', async (t) => {
  const dir = await testDir(t, 'drain-off');
  const server = await startFullServer(t, { CAPABILITIES_CONFIG: await writeCapabilities(dir) }, { logLevel: 'info' });
  await server.stop();
  t.notOk(server.logs.records.some((record) => record.msg.startsWith('draining')), 'no drain line');
});
