import t from 'tap';
import { ModelPool } from '../../models/pool.js';
import { type BackendLoader, type ModelBackend, modelSpecSchema } from '../../models/types.js';
import { loadInWorker } from '../../models/worker-backend.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';
import { until } from '../helpers/until.js';

t.test('an instance whose worker thread dies is reloaded; readiness is false meanwhile; later calls succeed', async (t) => {
  const created: ModelBackend[] = [];
  const loader: BackendLoader = async (spec, options) => {
    const backend = await loadInWorker(spec, options);
    created.push(backend);
    return backend;
  };
  const pool = new ModelPool(
    [modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'classification', path: await tinyBertDir() })],
    { modelsDir: '.', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 },
    { onnx: loader, transformers: loader, tfjs: loader },
  );
  t.teardown(() => pool.close());
  await pool.load('fail');
  const before = await pool.run('tiny', ['hello']);

  // The worker thread goes away under the pool, as a crash would take it.
  await created[0]?.close();
  await t.rejects(pool.run('tiny', ['hello']), { code: 'CAPABILITY_UNAVAILABLE', message: /reloading after a crash/ }, 'calls fail clearly while it reloads');
  t.ok(pool.reloading, 'the pool reports the reload');
  t.equal(pool.status()[0]?.state, 'reloading');

  await until(() => !pool.reloading, { what: 'the crashed instance to be reloaded', timeoutMs: 30_000, intervalMs: 20 });
  t.equal(pool.status()[0]?.state, 'ready');
  t.equal(created.length, 2, 'loaded once more');
  const after = await pool.run('tiny', ['hello']);
  t.same([...(after[0] ?? [])], [...(before[0] ?? [])], 'the reloaded model answers as before');
});
