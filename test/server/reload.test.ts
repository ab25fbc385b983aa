import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadCapabilitiesConfig } from '../../capabilities/load-config.js';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { createService, reloadCapabilities } from '../../server/create-service.js';
import { levels, LogRecorder } from '../helpers/log-records.js';
import { listenOnLoopback } from '../helpers/test-server.js';
import { until } from '../helpers/until.js';

t.test('POST /admin/reload swaps the configuration under load without failing a request, and logs it; a bad one is rejected', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-reload-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'capabilities.json');
  const write = (capabilities: unknown[], models: unknown[] = []) => writeFile(file, JSON.stringify({ models, capabilities }));
  await write([{ name: 'text-stats', kind: 'text-stats' }]);
  const config = loadConfig({ PORT: '0', CAPABILITIES_CONFIG: file, MODELS_DIR: dir });
  const logs = new LogRecorder('debug');
  const logger = logs.logger;
  const service = createService(config, await loadCapabilitiesConfig(file), logger);
  const app = await buildApp({ service, config, logger, reload: () => reloadCapabilities(service, config) });
  const url = await listenOnLoopback(t, app, service);
  await service.start();
  const post = async (route: string, body: unknown) => {
    const response = await fetch(url + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };

  // Steady load on text-stats while the configuration changes underneath.
  let loading = true;
  const statuses: number[] = [];
  const load = Array.from({ length: 6 }, async (_, k) => {
    for (let i = 0; loading; i += 1) statuses.push((await post('/classify', { texts: [`text ${k} ${i}`], capabilities: ['text-stats'] })).status);
  });
  await until(() => statuses.length >= 12, { what: 'the load to be running' });

  t.equal((await post('/classify', { texts: ['bonjour tout le monde, comment allez-vous'], capabilities: ['language'] })).status, 400, 'language is not configured yet');
  await write([{ name: 'text-stats', kind: 'text-stats' }, { name: 'language', kind: 'language-id' }]);
  const reloaded = await post('/admin/reload', {});
  t.equal(reloaded.status, 200);
  t.same(reloaded.body.capabilities.sort(), ['language', 'text-stats']);
  const logged = logs.withMessage('configuration reloaded');
  t.equal(logged.length, 1, 'the reload is logged once');
  t.equal(logged[0]?.level, levels.info);
  t.same([...(logged[0]?.capabilities ?? [])].sort(), ['language', 'text-stats'], 'with the capabilities now served');
  const french = await post('/classify', { texts: ['bonjour tout le monde, comment allez-vous aujourd’hui'], capabilities: ['language'] });
  t.equal(french.status, 200);
  t.equal(french.body.results[0].language.language, 'fra');

  await writeFile(file, '{ "models": [], "capabilities": [');
  t.match(await post('/admin/reload', {}), { status: 422, body: { error: { code: 'RELOAD_REJECTED', message: /invalid; the running one stays/ } } });
  await write([{ name: 'vector', kind: 'embedding', model: 'ghost' }], [{ name: 'ghost', backend: 'onnx', task: 'embedding', path: 'no-such-model' }]);
  t.match(await post('/admin/reload', {}), { status: 422, body: { error: { code: 'RELOAD_REJECTED', message: /did not load.*ghost/ } } });
  t.equal((await post('/classify', { texts: ['still here'], capabilities: ['language'] })).status, 200, 'the running configuration stayed');
  t.equal(logs.withMessage('configuration reloaded').length, 1, 'a rejected reload logs no swap');
  const rejections = await until(
    () => {
      const lines = logs.withMessage('request completed').filter((r) => r.route === '/admin/reload' && r.status === 422);
      return lines.length === 2 ? lines : undefined;
    },
    { what: 'the request lines of both rejected reloads' },
  );
  t.match(rejections, [{ level: levels.info, method: 'POST', reqId: String, code: 'RELOAD_REJECTED' }, { level: levels.info, method: 'POST', reqId: String, code: 'RELOAD_REJECTED' }]);

  // The load goes on after the rejections, served by the configuration that stayed.
  const served = statuses.length;
  await until(() => statuses.length >= served + 12, { what: 'requests after the rejected reloads' });
  loading = false;
  await Promise.all(load);
  t.ok(statuses.length > 20, `${statuses.length} requests during the reloads`);
  t.same([...new Set(statuses)], [200], 'no request failed during the swaps');
});
