import path from 'node:path';
import t from 'tap';
import { loadOnnxBackend } from '../../models/onnx-backend.js';
import { loadTransformersBackend } from '../../models/transformers-backend.js';
import { modelSpecSchema, type LoadOptions, type ModelSpec } from '../../models/types.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

const options: LoadOptions = { modelsDir: '/nonexistent-models-dir', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 };

const spec = (fields: Partial<ModelSpec> & Pick<ModelSpec, 'task'>): ModelSpec =>
  modelSpecSchema.parse({ name: 'tiny', backend: 'transformers', ...fields });

const longText = Array.from({ length: 40 }, (_, i) => `word${i} and some more text`).join(' ');
const texts = ['the service was great', 'terrible, slow delivery', 'hello'];

function maxDiff(a: Float32Array | undefined, b: Float32Array | undefined): number {
  if (a === undefined || b === undefined || a.length !== b.length) return Infinity;
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - (b[i] ?? NaN))), 0);
}

t.test('classification: raw logits per text, labels from config.json', async (t) => {
  const dir = await tinyBertDir();
  const backend = await loadTransformersBackend(spec({ task: 'classification', path: dir }), options);
  t.teardown(() => backend.close());
  t.match(backend.info, { name: 'tiny', backend: 'transformers', task: 'classification', device: 'cpu', source: dir, dimensions: 2 });
  t.same(backend.info.labels, ['NEGATIVE', 'POSITIVE']);

  const out = await backend.run(texts);
  t.equal(out.length, texts.length);
  for (const row of out) {
    t.type(row, Float32Array);
    t.equal(row.length, 2);
  }
  t.ok(
    out.some((row) => Math.abs((row[0] ?? 0) + (row[1] ?? 0) - 1) > 1e-3),
    'logits, not softmax probabilities',
  );
  t.same(await backend.run([]), []);
});

t.test('padding never changes a result: a text alone equals the same text beside a much longer one', async (t) => {
  const dir = await tinyBertDir();
  for (const variant of [
    { task: 'classification' as const },
    { task: 'embedding' as const, pooling: 'mean' as const },
    { task: 'embedding' as const, pooling: 'cls' as const },
  ]) {
    const backend = await loadTransformersBackend(spec({ ...variant, path: dir }), options);
    const [alone] = await backend.run(['hello world']);
    const [, beside] = await backend.run([longText, 'hello world', 'x']);
    const label = `${variant.task}${'pooling' in variant ? ` (${variant.pooling})` : ''}`;
    t.ok(maxDiff(alone, beside) < 1e-4, `${label}: batched with a long text, diff ${maxDiff(alone, beside)}`);
    await backend.close();
  }
});

t.test('the transformers and onnx backends agree on the same model', async (t) => {
  const dir = await tinyBertDir();
  for (const variant of [
    { task: 'classification' as const },
    { task: 'embedding' as const, pooling: 'mean' as const },
    { task: 'embedding' as const, pooling: 'cls' as const },
  ]) {
    const viaTransformers = await loadTransformersBackend(spec({ ...variant, path: dir }), options);
    const viaOnnx = await loadOnnxBackend(spec({ ...variant, backend: 'onnx', path: dir }), options);
    const a = await viaTransformers.run([...texts, longText]);
    const b = await viaOnnx.run([...texts, longText]);
    t.equal(viaTransformers.info.dimensions, viaOnnx.info.dimensions);
    t.ok(
      a.every((row, i) => maxDiff(row, b[i]) < 1e-4),
      `${variant.task}${'pooling' in variant ? ` (${variant.pooling})` : ''}`,
    );
    await viaTransformers.close();
    await viaOnnx.close();
  }
});

t.test('embedding reports the hidden size; maxLength truncates', async (t) => {
  const dir = await tinyBertDir();
  const backend = await loadTransformersBackend(spec({ task: 'embedding', path: dir, maxLength: 8 }), options);
  t.teardown(() => backend.close());
  t.equal(backend.info.dimensions, 32);
  t.equal(backend.info.maxTokens, 8, 'maxTokens is the maxLength it truncates to');
  t.equal(backend.info.labels, undefined);
  const prefix = 'one two three four five six seven eight nine ten';
  const [a, b] = await backend.run([`${prefix} eleven`, `${prefix} twelve ${longText}`]);
  t.equal(a?.length, 32);
  t.ok(maxDiff(a, b) < 1e-4, 'only the first 8 tokens count');
});

t.test('relative paths resolve against modelsDir', async (t) => {
  const dir = await tinyBertDir();
  const backend = await loadTransformersBackend(spec({ task: 'classification', path: path.basename(dir) }), {
    ...options,
    modelsDir: path.dirname(dir),
  });
  t.teardown(() => backend.close());
  t.equal(backend.info.source, dir);
});

t.test('a missing model directory is an error naming the model and the path', async (t) => {
  const missing = path.join(t.testdir(), 'nope');
  await t.rejects(loadTransformersBackend(spec({ task: 'classification', path: missing }), options), {
    code: 'MODEL_LOAD_FAILED',
    message: new RegExp(`model "tiny": the model directory does not exist \\(${missing.replace(/[/\\.]/g, '\\$&')}\\)`),
  });
});

t.test('a directory without onnx/model.onnx fails to load with the path in the message', async (t) => {
  const noGraph = t.testdir({
    'config.json': JSON.stringify({ model_type: 'bert', id2label: { 0: 'a' } }),
  });
  await t.rejects(loadTransformersBackend(spec({ task: 'classification', path: noGraph }), options), {
    code: 'MODEL_LOAD_FAILED',
    message: new RegExp(`model "tiny".*${noGraph.replace(/[/\\.]/g, '\\$&')}`),
  });
});

t.test('a hub id needs allowRemoteModels (ALLOW_REMOTE_MODELS=1)', async (t) => {
  await t.rejects(loadTransformersBackend(spec({ task: 'embedding', hubId: 'Xenova/all-MiniLM-L6-v2' }), options), {
    code: 'MODEL_LOAD_FAILED',
    message: /ALLOW_REMOTE_MODELS=1/,
  });
});
