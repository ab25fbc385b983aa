import t from 'tap';
import { pino } from 'pino';
import { loadCapabilitiesConfig } from '../../capabilities/load-config.js';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { createService } from '../../server/create-service.js';

/**
 * The real default configuration end to end: Universal Sentence Encoder Lite from npm, the
 * fitted sentiment head, topics, alerts, recommendations and language, over HTTP.
 */
t.test('the default models serve real results', async (t) => {
  const config = loadConfig({ PORT: '0' });
  const logger = pino({ level: 'silent' });
  const service = createService(config, await loadCapabilitiesConfig(config.capabilitiesConfig), logger);
  const app = await buildApp({ service, config, logger });
  t.teardown(async () => {
    await app.close();
    await service.stop(1000);
  });
  await service.start();
  t.equal(service.phase, 'ready');

  const texts = [
    'I absolutely love this phone, the battery life is amazing and the camera is superb.',
    'This is the worst service I have ever had, the product broke and nobody answers my emails.',
    'Where is my parcel? The delivery tracking has not updated for a week.',
  ];
  const response = await app.inject({
    method: 'POST',
    url: '/classify',
    payload: { texts, capabilities: ['embedding', 'sentiment', 'topics', 'alerts', 'recommendations', 'language'] },
  });
  t.equal(response.statusCode, 200, response.body);
  const { results } = response.json() as { results: Record<string, any>[] };
  const [positive, negative, delivery] = results;

  t.equal(positive?.embedding.length, 512, 'embedding has 512 dimensions');
  const norm = Math.hypot(...(positive?.embedding as number[]));
  t.ok(Math.abs(norm - 1) < 1e-3, `unit length (${norm})`);

  t.equal(positive?.sentiment.label, 'positive');
  t.equal(negative?.sentiment.label, 'negative');
  t.not(positive?.sentiment.label, negative?.sentiment.label, 'a clearly positive and a clearly negative sentence differ');

  t.equal(delivery?.topics.top, 'delivery');
  t.equal(negative?.alerts.triggered, true, 'strong negativity fires an alert');
  t.equal(positive?.alerts.triggered, false);
  t.equal(delivery?.recommendations.items[0].id.includes('delivery') || delivery?.recommendations.items[0].id === 'track-order', true);
  t.same(results.map((r) => r.language.language), ['eng', 'eng', 'eng']);

  const report =
    'The reservoirs of the town are nearly empty after a dry summer. The town band played in the park on Sunday. ' +
    'Water demand keeps rising while the reservoirs shrink. Leaking water mains waste a fifth of the water supply.';
  const summarised = await app.inject({ method: 'POST', url: '/classify', payload: { texts: [report], capabilities: ['summary'] } });
  t.equal(summarised.statusCode, 200, summarised.body);
  const summary = (summarised.json() as { results: { summary: { sentences: { text: string; start: number; end: number }[] } }[] }).results[0]?.summary;
  t.equal(summary?.sentences.length, 3, 'the default summary: three sentences');
  for (const s of summary?.sentences ?? []) t.equal(report.slice(s.start, s.end), s.text);
  t.notOk(summary?.sentences.some((s) => s.text.includes('band')), 'the aside about the band is left out');

  const capabilities = (await app.inject({ url: '/capabilities' })).json() as { capabilities: any[] };
  const embedding = capabilities.capabilities.find((c) => c.name === 'embedding');
  t.match(embedding, { model: 'use-lite', backend: 'tfjs', device: 'wasm', available: true });
  const ready = await app.inject({ url: '/health/ready' });
  t.equal(ready.statusCode, 200);
  t.match(ready.json(), { ready: true, models: [{ name: 'use-lite', state: 'ready' }] });
});
