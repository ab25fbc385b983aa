import t from 'tap';
import { loadOnnxBackend } from '../../models/onnx-backend.js';
import { PaddingCounter, planBuckets, sumPadding } from '../../models/length-buckets.js';
import { modelSpecSchema } from '../../models/types.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

t.test('buckets group texts by length, shortest first, within the waste bound', async (t) => {
  const cases: { lengths: number[]; options?: { maxWaste?: number; minSize?: number }; buckets: number[][] }[] = [
    { lengths: [], buckets: [] },
    { lengths: [5], buckets: [[0]] },
    { lengths: [10, 3, 10, 3], options: { minSize: 1 }, buckets: [[1, 3], [0, 2]] },
    // Two short texts beside one long one: 2·(100-5)/300 = 63% padding, over 20%: split.
    { lengths: [5, 100, 5], options: { minSize: 2 }, buckets: [[0, 2], [1]] },
    // minSize keeps a small bucket together however uneven it is.
    { lengths: [5, 100, 5], options: { minSize: 8 }, buckets: [[0, 2, 1]] },
    // Lengths within the bound stay together: (12·3 - 33) / 36 = 8% padding.
    { lengths: [10, 11, 12], options: { minSize: 1 }, buckets: [[0, 1, 2]] },
    // Equal lengths keep input order inside the bucket.
    { lengths: [7, 7, 7], buckets: [[0, 1, 2]] },
  ];
  for (const { lengths, options, buckets } of cases) t.same(planBuckets(lengths, options), buckets, JSON.stringify({ lengths, options }));

  const lengths = Array.from({ length: 200 }, (_, i) => 1 + ((i * 37) % 120));
  const planned = planBuckets(lengths, { maxWaste: 0.2, minSize: 8 });
  t.same(planned.flat().sort((a, b) => a - b), lengths.map((_, i) => i), 'every text in exactly one bucket');
  const counter = new PaddingCounter();
  for (const bucket of planned) {
    const rows = bucket.map((i) => lengths[i] ?? 0);
    counter.add(rows, Math.max(...rows));
  }
  const unbucketed = new PaddingCounter();
  unbucketed.add(lengths, Math.max(...lengths));
  t.ok(counter.snapshot().efficiency > 0.8, `bucketed efficiency ${counter.snapshot().efficiency}`);
  t.ok(unbucketed.snapshot().efficiency < 0.55, `one padded batch: ${unbucketed.snapshot().efficiency}`);
});

t.test('padding counters and their sum', async (t) => {
  const a = new PaddingCounter();
  t.same(a.snapshot(), { realTokens: 0, paddedTokens: 0, efficiency: 1 });
  a.add([2, 4], 4);
  const b = new PaddingCounter();
  b.add([3], 3);
  t.same(a.snapshot(), { realTokens: 6, paddedTokens: 8, efficiency: 0.75 });
  t.same(sumPadding([a.snapshot(), b.snapshot()]), { realTokens: 9, paddedTokens: 11, efficiency: 0.8182 });
});

t.test('the onnx backend runs length buckets and reports its padding', async (t) => {
  const backend = await loadOnnxBackend(
    modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: await tinyBertDir(), maxLength: 128 }),
    { modelsDir: '.', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 },
  );
  t.teardown(() => backend.close());
  const short = Array.from({ length: 12 }, (_, i) => `short ${i}`);
  const long = Array.from({ length: 12 }, (_, i) => `${'a much longer text with many words '.repeat(6)} ${i}`);
  const mixed = short.flatMap((text, i) => [text, long[i] ?? '']);
  const together = await backend.run(mixed);
  const alone = await Promise.all(mixed.map(async (text) => (await backend.run([text]))[0]));
  const worst = Math.max(...together.map((vector, i) => Math.max(...vector.map((v, k) => Math.abs(v - (alone[i]?.[k] ?? NaN))))));
  t.ok(worst < 1e-4, `bucketed outputs match each text run alone, in input order (max diff ${worst})`);
  const padding = backend.padding?.();
  t.ok(padding !== undefined && padding.efficiency > 0.8, `padding efficiency ${padding?.efficiency}`);
});
