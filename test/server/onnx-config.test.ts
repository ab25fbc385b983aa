import path from 'node:path';
import t, { type Test } from 'tap';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { loadConfig } from '../../server/config.js';
import { serviceApp } from '../helpers/service-app.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

/** A user configuration over the generated tiny BERT: an onnx classifier and a transformers embedder with topics on top. */
async function start(t: Test, extraModels: unknown[] = [], env: Record<string, string> = {}) {
  const dir = await tinyBertDir();
  const config = loadConfig({ PORT: '0', MODELS_DIR: path.dirname(dir), CAPABILITIES_CONFIG: path.join(dir, 'capabilities.json'), ...env });
  const capabilities = parseCapabilitiesConfig({
    models: [
      { name: 'tiny-classifier', backend: 'onnx', task: 'classification', path: path.basename(dir), instances: 2 },
      { name: 'tiny-embedder', backend: 'transformers', task: 'embedding', path: dir },
      ...extraModels,
    ],
    capabilities: [
      { name: 'classification', kind: 'classifier', model: 'tiny-classifier' },
      { name: 'vector', kind: 'embedding', model: 'tiny-embedder' },
      { name: 'topics', kind: 'zero-shot-topics', dependsOn: ['vector'], params: { labels: { a: 'first label', b: 'second label' } } },
      ...(extraModels.length > 0 ? [{ name: 'broken', kind: 'embedding', model: 'ghost' }] : []),
    ],
  });
  return serviceApp(t, config, capabilities);
}

t.test('user models on the onnx and transformers backends serve through the batcher', async (t) => {
  const { app, service } = await start(t);
  await service.start();
  const responses = await Promise.all(
    [['one text'], ['two texts', 'one text']].map((texts) =>
      app.inject({ method: 'POST', url: '/classify', payload: { texts, capabilities: ['classification', 'topics'] } }),
    ),
  );
  for (const response of responses) t.equal(response.statusCode, 200, response.body);
  const [first, second] = responses.map((r) => r.json() as { results: any[] });
  t.match(first?.results[0], { classification: { label: /^(NEGATIVE|POSITIVE)$/, scores: { NEGATIVE: Number, POSITIVE: Number } } });
  t.same(first?.results[0], second?.results[1], 'the same text gets the same results in either request');
  t.ok(['a', 'b'].includes(first?.results[0].topics.top));

  const listed = (await app.inject({ url: '/capabilities' })).json() as { capabilities: any[] };
  t.match(listed.capabilities.find((c) => c.name === 'classification'), { model: 'tiny-classifier', backend: 'onnx', device: 'cpu' });
  t.match(listed.capabilities.find((c) => c.name === 'vector'), { model: 'tiny-embedder', backend: 'transformers', device: 'cpu' });

  const stats = (await app.inject({ url: '/stats' })).json() as { models: any[] };
  const padding = stats.models.find((m) => m.name === 'tiny-classifier')?.padding;
  t.ok(padding.realTokens > 0 && padding.paddedTokens >= padding.realTokens, 'real and padded tokens counted');
  t.ok(padding.efficiency > 0 && padding.efficiency <= 1);
});

t.test("MODEL_LOAD_FAILURE=degrade serves with the failed model's capability unavailable", async (t) => {
  const ghost = { name: 'ghost', backend: 'onnx', task: 'embedding', path: 'no-such-model' };
  const { app, service } = await start(t, [ghost], { MODEL_LOAD_FAILURE: 'degrade' });
  await service.start();
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200);
  const broken = await app.inject({ method: 'POST', url: '/classify', payload: { texts: ['x'], capabilities: ['broken'] } });
  t.equal(broken.statusCode, 503);
  t.equal(broken.json().error.code, 'CAPABILITY_UNAVAILABLE');
  const fine = await app.inject({ method: 'POST', url: '/classify', payload: { texts: ['x'], capabilities: ['classification'] } });
  t.equal(fine.statusCode, 200);
  const listed = (await app.inject({ url: '/capabilities' })).json() as { capabilities: any[] };
  t.match(listed.capabilities.find((c) => c.name === 'broken'), { available: false, reason: /ghost/ });
});

t.test('MODEL_LOAD_FAILURE=fail stops start-up naming the model and its path', async (t) => {
  const ghost = { name: 'ghost', backend: 'onnx', task: 'embedding', path: 'no-such-model' };
  const { service } = await start(t, [ghost], { MODEL_LOAD_FAILURE: 'fail' });
  await t.rejects(service.start(), { code: 'MODEL_LOAD_FAILED', message: /model "ghost".*no-such-model/ });
});
