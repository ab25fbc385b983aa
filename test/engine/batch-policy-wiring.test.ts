import t from 'tap';
import { pino } from 'pino';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { CapserveService } from '../../engine/service.js';
import { defaultLoaders } from '../../models/loaders.js';
import { ModelPool } from '../../models/pool.js';
import { modelSpecSchema, type ModelBackend } from '../../models/types.js';

/**
 * A service over one fake model that costs exactly 10 ms per text on the pool's (fake) clock, so
 * its measured curve is exact, whatever the machine: a budget of 55 ms fits 5 texts.
 */
async function serviceWith(targetLatencyMs: number) {
  let now = 0;
  const backend: ModelBackend = {
    info: { name: 'm', backend: 'onnx', task: 'embedding', device: 'cpu', source: 'test', dimensions: 1, maxTokens: 128 },
    run: async (texts) => {
      now += 10 * texts.length;
      return texts.map(() => new Float32Array(1));
    },
    close: async () => {},
  };
  const spec = modelSpecSchema.parse({ name: 'm', backend: 'onnx', task: 'embedding', path: 'unused' });
  const options = { modelsDir: '/tmp', device: 'cpu' as const, allowRemoteModels: false, intraOpThreads: 1 };
  const pool = new ModelPool([spec], options, { ...defaultLoaders, onnx: async () => backend }, { time: { now: () => now }, maxCallTexts: 64, costCurve: { budgetMs: 100_000 } });
  const service = new CapserveService({
    pool,
    build: async (loaded) => ({
      registry: new CapabilityRegistry().register({ name: 'vector', dependsOn: [], model: 'm', run: (texts) => loaded.run('m', texts) }),
      unavailable: new Map(),
      specs: new Map(),
    }),
    batcher: { windowMs: 10, maxBatchTexts: 64, mode: 'adaptive', maxConcurrentBatches: 2 },
    targetLatencyMs,
    loadFailure: 'fail',
    logger: pino({ level: 'silent' }),
  });
  await service.start();
  return service;
}

const burst = (service: CapserveService) => Promise.all(Array.from({ length: 20 }, (_, i) => service.analyse({ texts: [`text ${i}`], capabilities: ['vector'] })));

t.test("the service builds the policy from the pool's curves: batches stay within the budget", async (t) => {
  const service = await serviceWith(55);
  t.teardown(() => service.stop(1000));
  t.same(service.pool.costCurve('m')?.points.at(-1), { batch: 64, ms: 640 });
  await burst(service);
  const { batches } = service.stats.snapshot();
  t.ok(batches.size.max <= 5, `largest batch ${batches.size.max} texts: 5 × 10 ms fit 55 ms`);
  t.ok(batches.total >= 4);
});

t.test('TARGET_LATENCY_MS=0: the fixed limits, one batch for the burst', async (t) => {
  const service = await serviceWith(0);
  t.teardown(() => service.stop(1000));
  await burst(service);
  t.equal(service.stats.snapshot().batches.size.max, 20);
});
