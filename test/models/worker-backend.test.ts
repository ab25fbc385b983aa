import t from 'tap';
import { loadOnnxBackend } from '../../models/onnx-backend.js';
import { modelSpecSchema, type LoadOptions } from '../../models/types.js';
import { loadInWorker } from '../../models/worker-backend.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

const options: LoadOptions = { modelsDir: '.', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 };

t.test('a model in a worker thread answers like the same model in process', async (t) => {
  const spec = modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'classification', path: await tinyBertDir() });
  const [inWorker, inProcess] = await Promise.all([loadInWorker(spec, options), loadOnnxBackend(spec, options)]);
  t.teardown(() => Promise.all([inWorker.close(), inProcess.close()]));
  t.same(inWorker.info, inProcess.info);
  const texts = ['the service was great', 'terrible, slow delivery', 'hello'];
  const [a, b] = await Promise.all([inWorker.run(texts), inProcess.run(texts)]);
  t.equal(a.length, 3);
  a.forEach((row, i) => t.same([...row], [...(b[i] ?? [])], `text ${i}`));
  const concurrent = await Promise.all([inWorker.run(['one']), inWorker.run(['two', 'three'])]);
  t.same(concurrent.map((rows) => rows.length), [1, 2], 'concurrent calls each get their own outputs');
  t.ok((inWorker.padding?.().realTokens ?? 0) > 0, 'padding counted in the worker is reported');
  t.same(await inWorker.run([]), []);
});

t.test('a load failure in the worker is the same clear MODEL_LOAD_FAILED', async (t) => {
  const spec = modelSpecSchema.parse({ name: 'ghost', backend: 'onnx', task: 'embedding', path: '/no/such/model' });
  const error = (await loadInWorker(spec, options).catch((e: unknown) => e)) as { code?: string; message?: string };
  t.equal(error.code, 'MODEL_LOAD_FAILED');
  t.match(error.message, /model "ghost".*\/no\/such\/model/);
});

t.test('after close, calls fail instead of hanging', async (t) => {
  const spec = modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: await tinyBertDir() });
  const backend = await loadInWorker(spec, options);
  await backend.close();
  await t.rejects(backend.run(['x']), /worker thread exited/);
});
