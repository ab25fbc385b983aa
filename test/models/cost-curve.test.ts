import path from 'node:path';
import t from 'tap';
import { batchSizes, measureCostCurve, typicalTexts } from '../../models/cost-curve.js';
import { defaultLoaders } from '../../models/loaders.js';
import { ModelPool } from '../../models/pool.js';
import { modelSpecSchema } from '../../models/types.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

/** A fake clock and a call that moves it by `cost(batch, repetition)`, recording each batch size. */
function fakeModel(cost: (batch: number, call: number) => number) {
  let now = 0;
  const calls: number[] = [];
  return {
    calls,
    time: { now: () => now },
    call: async (texts: readonly string[]) => {
      now += cost(texts.length, calls.length);
      calls.push(texts.length);
      return texts.map(() => new Float32Array(1));
    },
  };
}

t.test('batch sizes double up to the maximum, which is always measured', async (t) => {
  t.same(batchSizes(64), [1, 2, 4, 8, 16, 32, 64]);
  t.same(batchSizes(48), [1, 2, 4, 8, 16, 32, 48]);
  t.same(batchSizes(1), [1]);
});

t.test('typical texts: distinct, of the asked length', async (t) => {
  const texts = typicalTexts(4, 32);
  t.equal(new Set(texts).size, 4);
  for (const text of texts) t.equal(text.split(' ').length, 32);
  t.same(typicalTexts(4, 32), texts, 'the same every time');
});

t.test('a first untimed pass, then the median of interleaved rounds at each size', async (t) => {
  // The first call of each size is slow; one round of every size is disturbed, which the median ignores.
  const model = fakeModel((batch, call) => (call < 4 ? 500 : call >= 8 && call < 12 ? 100 : 2 + batch));
  const points = await measureCostCurve(model.call, 8, { repetitions: 3, budgetMs: 100_000, time: model.time });
  t.same(points, [
    { batch: 1, ms: 3 },
    { batch: 2, ms: 4 },
    { batch: 4, ms: 6 },
    { batch: 8, ms: 10 },
  ]);
  t.same(model.calls, [1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8], 'one pass, then three rounds');
});

t.test('a point never dips below the one before (a larger batch holds a smaller one\'s work)', async (t) => {
  const model = fakeModel((batch) => (batch === 2 ? 9 : 5));
  const points = await measureCostCurve(model.call, 4, { repetitions: 1, time: model.time });
  t.same(points.map((p) => p.ms), [5, 9, 9]);
});

t.test('no larger size is kept once its share would pass the time budget', async (t) => {
  const model = fakeModel((batch) => 10 * batch);
  const points = await measureCostCurve(model.call, 64, { repetitions: 3, budgetMs: 700, time: model.time });
  t.same(points.map((p) => p.batch), [1, 2, 4, 8], 'with 16: 150 ms of first calls, then 160 more and 3 rounds of 310');
  t.ok(model.time.now() <= 700, `${model.time.now()} ms`);
});

const spec = (dir: string) => modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'classification', path: dir });
const options = { modelsDir: '/tmp', device: 'cpu' as const, allowRemoteModels: false, intraOpThreads: 1 };

t.test('a real tiny ONNX model: increasing points up to the maximum batch, kept on the pool', async (t) => {
  const dir = await tinyBertDir();
  const pool = new ModelPool([spec(dir)], options, defaultLoaders, { maxCallTexts: 64, costCurve: {} });
  t.teardown(() => pool.close());
  const began = performance.now();
  await pool.load('fail');
  t.ok(performance.now() - began < 5000, 'in a few seconds at most');
  const curve = pool.costCurve('tiny');
  t.equal(curve?.model, 'tiny');
  const points = curve?.points ?? [];
  t.same(points.map((p) => p.batch), [1, 2, 4, 8, 16, 32, 64]);
  t.ok(points.every((p, i) => p.ms > 0 && p.ms >= (points[i - 1]?.ms ?? 0)), 'never decreasing');
  t.ok((points.at(-1)?.ms ?? 0) > (points[0]?.ms ?? 0) * 2, '64 texts cost clearly more than 1 on a CPU');
  t.comment(`tiny-bert cost curve: ${points.map((p) => `${p.batch}:${p.ms}ms`).join(' ')}`);
  t.same(pool.costCurves(), [curve]);
  const [status] = pool.status();
  t.match(status, { state: 'ready', calls: { total: 0 }, padding: { realTokens: 0, paddedTokens: 0 } }, 'the measurement stays out of the call and padding stats');
  await pool.run('tiny', ['one text']);
  t.ok((pool.status()[0]?.padding?.realTokens ?? 0) > 0, 'real calls count');
});

t.test('not measured unless the pool is asked to', async (t) => {
  const dir = await tinyBertDir();
  const pool = new ModelPool([spec(dir)], options, defaultLoaders, { maxCallTexts: 64 });
  t.teardown(() => pool.close());
  await pool.load('fail');
  t.equal(pool.costCurve('tiny'), undefined);
  t.same(pool.costCurves(), []);
  t.equal(pool.costCurve('missing'), undefined);
});

t.test('a model whose measurement fails still loads, without a curve', async (t) => {
  let calls = 0;
  const loaders = {
    ...defaultLoaders,
    onnx: async () => ({
      info: { name: 'flaky', backend: 'onnx' as const, task: 'embedding' as const, device: 'cpu' as const, source: 'test', dimensions: 1, maxTokens: 128 },
      run: async (texts: readonly string[]) => {
        calls += 1;
        if (calls === 1) throw new Error('first call fails');
        return texts.map(() => new Float32Array(1));
      },
      close: async () => {},
    }),
  };
  const pool = new ModelPool([spec(path.join('/tmp', 'unused'))], options, loaders, { maxCallTexts: 8, costCurve: {} });
  t.teardown(() => pool.close());
  await pool.load('fail');
  t.ok(pool.isReady('tiny'));
  t.equal(pool.costCurve('tiny'), undefined);
  t.equal((await pool.run('tiny', ['x'])).length, 1);
});
