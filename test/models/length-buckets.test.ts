import t from 'tap';
import { loadOnnxBackend } from '../../models/onnx-backend.js';
import { PaddingCounter, planBuckets, sumPadding } from '../../models/length-buckets.js';
import { modelSpecSchema } from '../../models/types.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

t.test('buckets group texts by length, shortest first, trading padding against the cost of a call', async (t) => {
  const cases: { lengths: number[]; callCostTokens?: number; buckets: number[][] }[] = [
    { lengths: [], buckets: [] },
    { lengths: [5], buckets: [[0]] },
    // 32 + 4·10 = 72 beats two calls, 32 + 2·3 + 32 + 2·10 = 90: one bucket.
    { lengths: [10, 3, 10, 3], buckets: [[1, 3, 0, 2]] },
    // With calls nearly free, the two lengths go apart.
    { lengths: [10, 3, 10, 3], callCostTokens: 1, buckets: [[1, 3], [0, 2]] },
    // Two short texts beside a long one: 32 + 300 padded tokens against 32 + 10 + 32 + 100.
    { lengths: [5, 100, 5], buckets: [[0, 2], [1]] },
    // A call dearer than the padding it saves keeps them together.
    { lengths: [5, 100, 5], callCostTokens: 200, buckets: [[0, 2, 1]] },
    { lengths: [10, 11, 12], buckets: [[0, 1, 2]] },
    // Equal lengths keep input order inside the bucket.
    { lengths: [7, 7, 7], buckets: [[0, 1, 2]] },
  ];
  for (const { lengths, callCostTokens, buckets } of cases) {
    t.same(planBuckets(lengths, callCostTokens === undefined ? {} : { callCostTokens }), buckets, JSON.stringify({ lengths, callCostTokens }));
  }

  const lengths = Array.from({ length: 200 }, (_, i) => 1 + ((i * 37) % 120));
  const planned = planBuckets(lengths);
  t.same(planned.flat().sort((a, b) => a - b), lengths.map((_, i) => i), 'every text in exactly one bucket');
  const counter = new PaddingCounter();
  for (const bucket of planned) {
    const rows = bucket.map((i) => lengths[i] ?? 0);
    counter.add(rows, Math.max(...rows));
  }
  const unbucketed = new PaddingCounter();
  unbucketed.add(lengths, Math.max(...lengths));
  t.ok(counter.snapshot().efficiency > 0.9, `bucketed efficiency ${counter.snapshot().efficiency}`);
  t.ok(unbucketed.snapshot().efficiency < 0.55, `one padded batch: ${unbucketed.snapshot().efficiency}`);
});

t.test('the plan is the cheapest of every way to cut the sorted texts (brute force on small calls)', async (t) => {
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const cost = (buckets: number[][], lengths: number[]): number =>
    buckets.reduce((sum, bucket) => sum + 32 + bucket.length * Math.max(...bucket.map((i) => lengths[i] ?? 0)), 0);
  for (let trial = 0; trial < 50; trial += 1) {
    const lengths = Array.from({ length: 1 + Math.floor(random() * 9) }, () => 1 + Math.floor(random() * 128));
    const sorted = lengths.map((_, i) => i).sort((a, b) => (lengths[a] ?? 0) - (lengths[b] ?? 0) || a - b);
    let cheapest = Number.POSITIVE_INFINITY;
    // Each of the n − 1 gaps between sorted texts is a cut or not.
    for (let mask = 0; mask < 2 ** (sorted.length - 1); mask += 1) {
      const buckets: number[][] = [[]];
      sorted.forEach((index, k) => {
        if (k > 0 && (mask >> (k - 1)) & 1) buckets.push([]);
        buckets.at(-1)?.push(index);
      });
      cheapest = Math.min(cheapest, cost(buckets, lengths));
    }
    t.equal(cost(planBuckets(lengths), lengths), cheapest, JSON.stringify(lengths));
  }
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
