import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { generateBertModel, parseCliOptions } from '../../scripts/generate-bert-onnx.js';

const int64 = (values: readonly number[], dims: readonly number[]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);

const readJson = async (file: string): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

t.test('the tiny preset writes the transformers.js layout with a consistent config', async (t) => {
  const model = await generateBertModel({ out: t.testdir(), preset: 'tiny' });
  for (const file of Object.values(model.files)) t.ok((await stat(file)).size > 0, `${path.basename(file)} written`);
  t.equal(model.files.model, path.join(model.dir, 'onnx', 'model.onnx'));
  t.equal(model.modelBytes, (await stat(model.files.model)).size);
  // Embeddings 36,224 + 2 layers of 8,544 + pooler 1,056 + classifier 66.
  t.equal(model.parameters, 54_434);

  const config = await readJson(model.files.config);
  t.match(config, {
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 64,
    vocab_size: 1000,
    max_position_embeddings: 128,
    id2label: { '0': 'NEGATIVE', '1': 'POSITIVE' },
    label2id: { NEGATIVE: 0, POSITIVE: 1 },
  });
  t.same(model.config, config, 'the returned config is the written one');

  const tokenizer = await readJson(model.files.tokenizer);
  const vocab = (tokenizer['model'] as { vocab: Record<string, number> }).vocab;
  t.equal(Object.keys(vocab).length, 1000, 'vocabulary has exactly vocab_size tokens');
  t.same(new Set(Object.values(vocab)).size, 1000, 'ids are distinct');
  t.match(vocab, { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4 });
  t.ok('##a' in vocab && 'the' in vocab && 'good' in vocab, 'characters, continuations and words are present');
  t.match(tokenizer, {
    normalizer: { type: 'BertNormalizer', lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    model: { type: 'WordPiece', continuing_subword_prefix: '##', unk_token: '[UNK]' },
    post_processor: { type: 'TemplateProcessing' },
    padding: null,
    truncation: null,
  });
  t.match(await readJson(model.files.tokenizerConfig), {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 128,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
  });
});

t.test('onnxruntime runs the graph on a padded batch and masks the padding', async (t) => {
  const model = await generateBertModel({ out: t.testdir(), preset: 'tiny' });
  const session = await ort.InferenceSession.create(model.files.model);
  t.teardown(() => session.release());
  t.same(session.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
  t.same(session.outputNames, ['last_hidden_state', 'logits']);

  const feeds = (ids: number[][], mask: number[][]): Record<string, ort.Tensor> => {
    const dims = [ids.length, ids[0]?.length ?? 0];
    return {
      input_ids: int64(ids.flat(), dims),
      attention_mask: int64(mask.flat(), dims),
      token_type_ids: int64(new Array<number>(dims[0]! * dims[1]!).fill(0), dims),
    };
  };
  const batch = await session.run(
    feeds(
      [
        [2, 150, 160, 170, 180, 3],
        [2, 200, 3, 0, 0, 0],
      ],
      [
        [1, 1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0, 0],
      ],
    ),
  );
  t.same(batch['last_hidden_state']?.dims, [2, 6, 32]);
  t.same(batch['logits']?.dims, [2, 2]);
  t.equal(batch['logits']?.type, 'float32');

  const alone = await session.run(feeds([[2, 200, 3]], [[1, 1, 1]]));
  const batched = [...(batch['logits']?.data as Float32Array).slice(2, 4)];
  const single = [...(alone['logits']?.data as Float32Array)];
  for (let i = 0; i < 2; i++) t.ok(Math.abs(batched[i]! - single[i]!) < 1e-4, `logit ${i} does not see the padding`);
  const other = [...(batch['logits']?.data as Float32Array).slice(0, 2)];
  t.ok(Math.abs(other[0]! - single[0]!) + Math.abs(other[1]! - single[1]!) > 1e-3, 'different inputs give visibly different logits');
});

t.test('the same seed gives the same bytes; another seed other weights', async (t) => {
  const root = t.testdir({ a: {}, b: {}, c: {} });
  const [a, b, c] = await Promise.all([
    generateBertModel({ out: path.join(root, 'a'), seed: 7 }),
    generateBertModel({ out: path.join(root, 'b'), seed: 7 }),
    generateBertModel({ out: path.join(root, 'c'), seed: 8 }),
  ]);
  for (const key of ['config', 'tokenizer', 'tokenizerConfig', 'model'] as const) {
    t.ok((await readFile(a.files[key])).equals(await readFile(b.files[key])), `${key} is byte-identical`);
  }
  t.notOk((await readFile(a.files.model)).equals(await readFile(c.files.model)), 'seed 8 gives other weights');
  t.ok((await readFile(a.files.tokenizer)).equals(await readFile(c.files.tokenizer)), 'the vocabulary does not depend on the seed');
});

t.test('overrides change the shape: three labels, other sizes', async (t) => {
  const model = await generateBertModel({
    out: t.testdir(),
    preset: 'tiny',
    layers: 1,
    hidden: 48,
    heads: 3,
    intermediate: 96,
    vocab: 300,
    labels: ['a', 'b', 'c'],
  });
  t.match(model.shape, { layers: 1, hidden: 48, heads: 3, intermediate: 96, vocabSize: 300, labels: ['a', 'b', 'c'] });
  const session = await ort.InferenceSession.create(model.files.model);
  t.teardown(() => session.release());
  const dims = [1, 4];
  const out = await session.run({
    input_ids: int64([2, 100, 200, 3], dims),
    attention_mask: int64([1, 1, 1, 1], dims),
    token_type_ids: int64([0, 0, 0, 0], dims),
  });
  t.same(out['logits']?.dims, [1, 3]);
  t.same(out['last_hidden_state']?.dims, [1, 4, 48]);
});

t.test('impossible shapes are refused before anything is written', async (t) => {
  await t.rejects(generateBertModel({ out: t.testdir(), hidden: 30, heads: 4 }), /not divisible/);
  await t.rejects(generateBertModel({ out: t.testdir(), vocab: 50 }), /vocabulary size must be at least/);
  await t.rejects(generateBertModel({ out: t.testdir(), labels: [] }), /at least one label/);
  await t.rejects(generateBertModel({ out: t.testdir(), labels: ['x', 'x'] }), /distinct/);
  await t.rejects(generateBertModel({ out: t.testdir(), layers: 0 }), /layers must be a positive integer/);
});

t.test('the command line maps onto generator options', async (t) => {
  t.match(parseCliOptions(['--preset', 'minilm-l6', '--out', 'x', '--seed', '3', '--labels', 'neg, neu,pos', '--layers', '2']), {
    out: 'x',
    preset: 'minilm-l6',
    seed: 3,
    layers: 2,
    labels: ['neg', 'neu', 'pos'],
  });
  t.match(parseCliOptions(['--out', 'x']), { preset: 'tiny', seed: undefined });
  t.throws(() => parseCliOptions([]), /--out is required/);
  t.throws(() => parseCliOptions(['--out', 'x', '--preset', 'huge']), /unknown preset "huge"/);
  t.throws(() => parseCliOptions(['--out', 'x', '--hidden', '3.5']), /--hidden needs an integer/);
  t.throws(() => parseCliOptions(['--out', 'x', '--bogus']));
});
