import path from 'node:path';
import t from 'tap';
import { defaultLoaders } from '../../models/loaders.js';
import { ModelPool } from '../../models/pool.js';
import { modelSpecSchema } from '../../models/types.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

const options = (modelsDir: string) => ({ modelsDir, device: 'cpu' as const, allowRemoteModels: false, intraOpThreads: 1 });

t.test('loads every instance once, reports state, and serves calls from the least busy instance', async (t) => {
  const dir = await tinyBertDir();
  const pool = new ModelPool(
    [modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'classification', path: path.basename(dir), instances: 2 })],
    options(path.dirname(dir)),
    defaultLoaders,
  );
  t.teardown(() => pool.close());
  t.same(pool.status().map((s) => s.state), ['pending']);
  t.notOk(pool.settled);
  await pool.load('fail');
  t.ok(pool.settled);
  const [status] = pool.status();
  t.match(status, { name: 'tiny', backend: 'onnx', state: 'ready', instances: 2, info: { device: 'cpu', labels: ['NEGATIVE', 'POSITIVE'] } });

  const texts = ['the same text', 'another one'];
  const runs = await Promise.all(Array.from({ length: 6 }, () => pool.run('tiny', texts)));
  t.equal(pool.depth('tiny'), 0, 'all calls drained');
  for (const output of runs) t.same(Array.from(output[0] ?? []), Array.from(runs[0]?.[0] ?? []), 'every instance answers alike');
  t.equal(runs[0]?.length, 2);
  await t.rejects(pool.run('missing', texts), { code: 'CAPABILITY_UNAVAILABLE' });
});

t.test("policy 'fail': a model that cannot load stops start-up naming the model and path", async (t) => {
  const pool = new ModelPool(
    [modelSpecSchema.parse({ name: 'ghost', backend: 'onnx', task: 'classification', path: 'does-not-exist' })],
    options('/tmp/capserve-no-models'),
    defaultLoaders,
  );
  const error = (await pool.load('fail').catch((e: unknown) => e)) as { code: string; message: string };
  t.equal(error.code, 'MODEL_LOAD_FAILED');
  t.match(error.message, 'model "ghost"');
  t.match(error.message, '/tmp/capserve-no-models/does-not-exist');
  t.same(pool.status().map((s) => s.state), ['failed']);
});

t.test("policy 'degrade': the failed model is marked and the others load", async (t) => {
  const dir = await tinyBertDir();
  const pool = new ModelPool(
    [
      modelSpecSchema.parse({ name: 'ghost', backend: 'onnx', task: 'embedding', path: 'nope' }),
      modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: dir }),
    ],
    options('/tmp'),
    defaultLoaders,
  );
  t.teardown(() => pool.close());
  await pool.load('degrade');
  t.ok(pool.settled);
  t.same(pool.status().map((s) => [s.name, s.state]), [['ghost', 'failed'], ['tiny', 'ready']]);
  t.match(pool.status()[0]?.error, /nope/);
  await t.rejects(pool.run('ghost', ['x']), { code: 'CAPABILITY_UNAVAILABLE', message: /ghost/ });
  t.equal((await pool.run('tiny', ['x']))[0]?.length, 32, 'hidden size of the tiny model');
});

t.test('a model declared twice is a configuration error', async (t) => {
  const spec = modelSpecSchema.parse({ name: 'twice', backend: 'onnx', task: 'embedding', path: 'x' });
  t.throws(() => new ModelPool([spec, spec], options('/tmp'), defaultLoaders), { code: 'CONFIG_INVALID' });
});

t.test('model spec schema: exactly one source', async (t) => {
  t.notOk(modelSpecSchema.safeParse({ name: 'm', backend: 'onnx', task: 'embedding' }).success);
  t.notOk(modelSpecSchema.safeParse({ name: 'm', backend: 'onnx', task: 'embedding', path: 'a', hubId: 'b/c' }).success);
  t.ok(modelSpecSchema.safeParse({ name: 'm', backend: 'transformers', task: 'embedding', hubId: 'b/c' }).success);
});
