import path from 'node:path';
import t, { type Test } from 'tap';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { loadConfig } from '../../server/config.js';
import { reloadCapabilities } from '../../server/create-service.js';
import { testDir, writeCapabilities } from '../helpers/full-server.js';
import { serviceApp } from '../helpers/service-app.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

/** A server over the tiny BERT classifier and a model-free capability, started, from these variables. */
async function start(t: Test, env: Record<string, string>) {
  const dir = await tinyBertDir();
  const config = loadConfig({ PORT: '0', MODEL_THREADS: 'main', MODELS_DIR: path.dirname(dir), ORT_INTRA_OP_THREADS: '1', ...env });
  const capabilities = parseCapabilitiesConfig({
    models: [{ name: 'tiny', backend: 'onnx', task: 'classification', path: path.basename(dir) }],
    capabilities: [
      { name: 'classification', kind: 'classifier', model: 'tiny' },
      { name: 'stats', kind: 'text-stats' },
    ],
  });
  const { app, service } = await serviceApp(t, config, capabilities);
  await service.start();
  return { app, service, config };
}

t.test('by default each model\'s cost curve is measured at load and shown in /stats; model-free capabilities have none', async (t) => {
  const { app, config } = await start(t, {});
  t.equal(config.measureCostCurve, true);
  t.equal(config.targetLatencyMs, 50);
  const stats = (await app.inject({ url: '/stats' })).json() as { costCurves: { model: string; points: { batch: number; ms: number }[] }[] };
  t.same(stats.costCurves.map((curve) => curve.model), ['tiny']);
  t.same(stats.costCurves[0]?.points.map((point) => point.batch), [1, 2, 4, 8, 16, 32, 64]);
  const reply = await app.inject({ method: 'POST', url: '/classify', payload: { texts: ['a', 'b', 'c'], capabilities: ['classification', 'stats'] } });
  t.equal(reply.statusCode, 200, 'the batcher serves under the policy');
});

t.test('MEASURE_COST_CURVE=0 skips the measurement: no curve, and the fixed limits', async (t) => {
  const { app, service, config } = await start(t, { MEASURE_COST_CURVE: '0', MAX_BATCH_TEXTS: '16' });
  t.equal(config.measureCostCurve, false);
  t.same(service.pool.costCurves(), []);
  t.same(((await app.inject({ url: '/stats' })).json() as { costCurves: unknown[] }).costCurves, []);
  const reply = await app.inject({ method: 'POST', url: '/classify', payload: { texts: ['a'], capabilities: ['classification'] } });
  t.equal(reply.statusCode, 200);
});

t.test('a reload measures the new pool\'s models', async (t) => {
  const dir = await tinyBertDir();
  const file = await writeCapabilities(await testDir(t, 'cost-curve'), [{ name: 'classification', kind: 'classifier', model: 'tiny' }], [
    { name: 'tiny', backend: 'onnx', task: 'classification', path: dir },
  ]);
  const { service, config } = await start(t, { MAX_BATCH_TEXTS: '4', CAPABILITIES_CONFIG: file });
  const before = service.pool.costCurve('tiny');
  t.same(before?.points.map((point) => point.batch), [1, 2, 4], 'up to MAX_BATCH_TEXTS');
  await reloadCapabilities(service, config);
  t.not(service.pool.costCurve('tiny'), before, 'measured again');
  t.same(service.pool.costCurve('tiny')?.points.map((point) => point.batch), [1, 2, 4]);
});

t.test('TARGET_LATENCY_MS is a whole number of ms, 0 allowed', async (t) => {
  t.equal(loadConfig({ TARGET_LATENCY_MS: '0' }).targetLatencyMs, 0);
  t.throws(() => loadConfig({ TARGET_LATENCY_MS: '-1' }), { code: 'CONFIG_INVALID', message: /TARGET_LATENCY_MS/ });
  t.throws(() => loadConfig({ MEASURE_COST_CURVE: 'maybe' }), { code: 'CONFIG_INVALID', message: /MEASURE_COST_CURVE/ });
});
