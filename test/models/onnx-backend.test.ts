import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { loadOnnxBackend } from '../../models/onnx-backend.js';
import { modelSpecSchema, type LoadOptions, type ModelSpec } from '../../models/types.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

const options: LoadOptions = { modelsDir: '/nonexistent-models-dir', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 };

const spec = (fields: Partial<ModelSpec> & Pick<ModelSpec, 'task'>): ModelSpec =>
  modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', ...fields });

const longText = Array.from({ length: 40 }, (_, i) => `word${i} and some more text`).join(' ');
const texts = ['the service was great', 'terrible, slow delivery', 'hello'];

/** Largest absolute difference between two vectors of the same length. */
function maxDiff(a: Float32Array | undefined, b: Float32Array | undefined): number {
  if (a === undefined || b === undefined || a.length !== b.length) return Infinity;
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - (b[i] ?? NaN))), 0);
}

t.test('classification: one logits row per text, labels from config.json', async (t) => {
  const dir = await tinyBertDir();
  const backend = await loadOnnxBackend(spec({ task: 'classification', path: dir }), options);
  t.teardown(() => backend.close());
  t.match(backend.info, { name: 'tiny', backend: 'onnx', task: 'classification', device: 'cpu', source: dir, dimensions: 2 });
  t.same(backend.info.labels, ['NEGATIVE', 'POSITIVE']);

  const out = await backend.run(texts);
  t.equal(out.length, texts.length);
  for (const row of out) {
    t.type(row, Float32Array);
    t.equal(row.length, 2);
    t.ok(row.every(Number.isFinite));
  }
  t.ok(maxDiff(out[0], out[1]) > 1e-3, 'different texts give different logits');
  t.same(await backend.run([]), [], 'an empty call runs nothing');
});

t.test('padding never changes a result: a text alone equals the same text beside a much longer one', async (t) => {
  const dir = await tinyBertDir();
  for (const variant of [
    { task: 'classification' as const },
    { task: 'embedding' as const, pooling: 'mean' as const },
    { task: 'embedding' as const, pooling: 'cls' as const },
  ]) {
    const backend = await loadOnnxBackend(spec({ ...variant, path: dir }), options);
    const [alone] = await backend.run(['hello world']);
    const [, beside] = await backend.run([longText, 'hello world', 'x']);
    const [first, second] = await backend.run(['hello world', 'hello world']);
    const label = `${variant.task}${'pooling' in variant ? ` (${variant.pooling})` : ''}`;
    t.ok(maxDiff(alone, beside) < 1e-4, `${label}: batched with a long text, diff ${maxDiff(alone, beside)}`);
    t.ok(maxDiff(first, second) < 1e-6, `${label}: duplicates in one batch agree`);
    await backend.close();
  }
});

t.test('embedding: hidden-size vectors; mean and cls pooling differ', async (t) => {
  const dir = await tinyBertDir();
  const mean = await loadOnnxBackend(spec({ task: 'embedding', path: dir, pooling: 'mean' }), options);
  const cls = await loadOnnxBackend(spec({ task: 'embedding', path: dir, pooling: 'cls' }), options);
  t.teardown(async () => {
    await mean.close();
    await cls.close();
  });
  t.equal(mean.info.dimensions, 32);
  t.equal(mean.info.labels, undefined);
  const [m] = await mean.run(['good product']);
  const [c] = await cls.run(['good product']);
  t.equal(m?.length, 32);
  t.ok(maxDiff(m, c) > 1e-3, 'mean pooling is not the [CLS] vector');
});

t.test('texts are truncated to maxLength tokens', async (t) => {
  const dir = await tinyBertDir();
  const backend = await loadOnnxBackend(spec({ task: 'embedding', path: dir, maxLength: 8 }), options);
  t.teardown(() => backend.close());
  const prefix = 'one two three four five six seven eight nine ten';
  const [a, b] = await backend.run([`${prefix} eleven`, `${prefix} twelve thirteen ${longText}`]);
  t.ok(maxDiff(a, b) < 1e-4, 'only the first 8 tokens count');
});

t.test('relative paths resolve against modelsDir', async (t) => {
  const dir = await tinyBertDir();
  const backend = await loadOnnxBackend(spec({ task: 'classification', path: path.basename(dir) }), {
    ...options,
    modelsDir: path.dirname(dir),
  });
  t.teardown(() => backend.close());
  t.equal(backend.info.source, dir);
});

t.test('model.onnx at the top of the directory works too', async (t) => {
  const dir = await tinyBertDir();
  const flat = t.testdir();
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await copyFile(path.join(dir, file), path.join(flat, file));
  await copyFile(path.join(dir, 'onnx', 'model.onnx'), path.join(flat, 'model.onnx'));
  const backend = await loadOnnxBackend(spec({ task: 'classification', path: flat }), options);
  t.teardown(() => backend.close());
  const reference = await loadOnnxBackend(spec({ task: 'classification', path: dir }), options);
  t.teardown(() => reference.close());
  const [a] = await backend.run(['hello']);
  const [b] = await reference.run(['hello']);
  t.ok(maxDiff(a, b) < 1e-6);
});

t.test('a missing model directory or file is an error naming the model and the path', async (t) => {
  const missing = path.join(t.testdir(), 'nope');
  await t.rejects(loadOnnxBackend(spec({ task: 'classification', path: missing }), options), {
    code: 'MODEL_LOAD_FAILED',
    message: new RegExp(`model "tiny": the model directory does not exist \\(${missing.replace(/[/\\.]/g, '\\$&')}\\)`),
  });
  const noGraph = t.testdir({ 'config.json': '{}' });
  await t.rejects(loadOnnxBackend(spec({ task: 'classification', path: noGraph }), options), {
    code: 'MODEL_LOAD_FAILED',
    message: /no onnx\/model\.onnx or model\.onnx/,
  });
});

t.test('hub ids are refused: this backend loads local directories only', async (t) => {
  await t.rejects(loadOnnxBackend(spec({ task: 'embedding', hubId: 'Xenova/all-MiniLM-L6-v2' }), { ...options, allowRemoteModels: true }), {
    code: 'MODEL_LOAD_FAILED',
    message: /local directories only/,
  });
});
