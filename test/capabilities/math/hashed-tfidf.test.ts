import t from 'tap';
import { type SparseVector } from '../../../capabilities/math/feature-vector.js';
import { fnv1a32, HashedTfidf, tokenize } from '../../../capabilities/math/hashed-tfidf.js';

const norm = (v: SparseVector): number => Math.sqrt([...v.values].reduce((sum, x) => sum + x * x, 0));
/** The single feature of a one-word text under unigrams: where that word hashes, and its signed weight. */
const feature = (model: HashedTfidf, word: string): [number, number] => {
  const v = model.transform(word);
  return [v.indices[0] ?? -1, v.values[0] ?? 0];
};

t.test('tokenises Unicode text: NFKC, lower case, letters, digits and combining marks', async (t) => {
  t.same(tokenize("Don't STOP -- it's 42°C!"), ['don', 't', 'stop', 'it', 's', '42', 'c']);
  t.same(tokenize('Ｆｕｌｌ ﬁne'), ['full', 'fine'], 'NFKC folds full-width forms and ligatures');
  t.same(tokenize('Привет, МИР! Γειά σου'), ['привет', 'мир', 'γειά', 'σου']);
  t.same(tokenize('नमस्ते दुनिया'), ['नमस्ते', 'दुनिया'], 'Devanagari vowel signs stay inside the word');
  t.same(tokenize('İstanbul'), ['i̇stanbul'], 'the dot that lower-casing İ leaves is a mark, not a split');
  t.same(tokenize('日本語です。'), ['日本語です'], 'a script without spaces is one run (character n-grams split it)');
  t.same(tokenize(' ... '), []);
});

t.test('hashes with 32-bit FNV-1a over UTF-8, to fixed indices', async (t) => {
  t.equal(fnv1a32(''), 0x811c9dc5);
  t.equal(fnv1a32('a'), 0xe40c292c);
  t.equal(fnv1a32('foobar'), 0xbf9cf968);
  const utf8 = (s: string): number => [...new TextEncoder().encode(s)].reduce((h, b) => Math.imul(h ^ b, 0x01000193) >>> 0, 0x811c9dc5);
  for (const s of ['héllo', 'привет', '日本語', '😀', 'नमस्ते', 'a\ud800b']) t.equal(fnv1a32(s), utf8(s), `UTF-8 bytes of ${JSON.stringify(s)}`);
  // Stored models depend on these: a change to the hash must be a new state version.
  const model = HashedTfidf.fit(['hello world'], { wordNgrams: [1, 1] });
  t.same(feature(model, 'hello'), [95854, -1]);
  t.same(feature(model, 'world'), [20793, 1]);
});

t.test('word n-grams, character n-grams and the sign trick', async (t) => {
  const texts = ['red blue green', 'green blue red'];
  const unigrams = HashedTfidf.fit(texts, { wordNgrams: [1, 1] });
  const bigrams = HashedTfidf.fit(texts);
  t.equal(unigrams.transform(texts[0]!).indices.length, 3);
  t.same(unigrams.transform(texts[0]!), unigrams.transform(texts[1]!), 'unigrams ignore word order');
  t.equal(bigrams.transform(texts[0]!).indices.length, 5, 'the default adds bigrams');
  t.not(JSON.stringify(bigrams.transform(texts[0]!)), JSON.stringify(bigrams.transform(texts[1]!)), 'bigrams see word order');

  const overlap = (model: HashedTfidf, a: string, b: string): number => {
    const u = model.transform(a);
    const v = model.transform(b);
    return [...u.indices].reduce((sum, i, k) => sum + (u.values[k] ?? 0) * (v.values[[...v.indices].indexOf(i)] ?? 0), 0);
  };
  const chars = HashedTfidf.fit(['classification'], { charNgrams: [3, 5] });
  t.equal(overlap(unigrams, 'classification', 'clasification'), 0, 'a misspelling shares no word feature');
  t.ok(overlap(chars, 'classification', 'clasification') > 0.5, 'but shares most character n-grams');
  t.ok(chars.transform('日本語です').indices.length > 5, 'character n-grams split a run of CJK');

  const words = Array.from({ length: 50 }, (_, i) => `word${i}`).join(' ');
  const values = [...HashedTfidf.fit([words]).transform(words).values];
  t.ok(values.some((v) => v < 0) && values.some((v) => v > 0), 'a hash bit picks each feature sign');
});

t.test('unit length, sorted indices, and rarer words weigh more', async (t) => {
  const texts = ['common words here', 'common rare', 'common words', 'common words again'];
  const model = HashedTfidf.fit(texts, { wordNgrams: [1, 1] });
  for (const text of [...texts, 'unseen words entirely', 'alpha alpha alpha beta']) {
    const v = model.transform(text);
    t.ok(Math.abs(norm(v) - 1) < 1e-12, `unit length: ${text}`);
    t.ok([...v.indices].every((i, k, all) => k === 0 || i > (all[k - 1] ?? 0)), 'indices ascend');
  }
  t.same(model.transform('!!!'), { dimensions: 2 ** 18, indices: new Int32Array(), values: new Float64Array() }, 'no tokens: the zero vector');
  const weightOf = (text: string, word: string): number => {
    const v = model.transform(text);
    return Math.abs(v.values[[...v.indices].indexOf(feature(model, word)[0])] ?? 0);
  };
  t.ok(weightOf('common rare', 'rare') > weightOf('common rare', 'common'), 'df 1 outweighs df 4');
  t.ok(weightOf('common unseen', 'unseen') > weightOf('common unseen', 'common'), 'an unseen word gets the idf of df = 0');
  const ratio = weightOf('alpha alpha alpha beta', 'alpha') / weightOf('alpha alpha alpha beta', 'beta');
  t.ok(Math.abs(ratio - (1 + Math.log(3))) < 1e-12, `tf is sublinear: three times counts 1 + ln 3 (${ratio})`);
});

t.test('fitting is deterministic and the JSON state round-trips to identical vectors', async (t) => {
  const texts = ['the parcel arrived late', 'refund my card please', 'app crashes on login', 'late parcel again'];
  const options = { charNgrams: [2, 4] } as const;
  const model = HashedTfidf.fit(texts, options);
  t.same(HashedTfidf.fit(texts, options).toJSON(), model.toJSON());
  const state = JSON.parse(JSON.stringify(model)) as unknown;
  const loaded = HashedTfidf.fromJSON(state);
  t.same(loaded.toJSON(), model.toJSON());
  for (const text of [...texts, 'an unseen text about parcels', '']) t.same(loaded.transform(text), model.transform(text), text);
  const frequencies = model.toJSON().documentFrequency;
  t.ok(frequencies.every(([, df]) => df >= 1 && df <= texts.length), 'only features seen in training are stored');
  t.equal(frequencies.find(([i]) => i === feature(HashedTfidf.fit(['late'], { wordNgrams: [1, 1] }), 'late')[0])?.[1], 2);
});

t.test('rejects bad options and bad states', async (t) => {
  t.throws(() => HashedTfidf.fit([]), /at least one text/);
  t.throws(() => HashedTfidf.fit(['a'], { dimensions: 1 }), /dimensions/);
  t.throws(() => HashedTfidf.fit(['a'], { dimensions: 2 ** 25 }), /dimensions/);
  t.throws(() => HashedTfidf.fit(['a'], { wordNgrams: [2, 1] }), /min ≤ max/);
  t.throws(() => HashedTfidf.fit(['a'], { wordNgrams: null }), /both are null/);
  const good = HashedTfidf.fit(['a b', 'b c']).toJSON();
  const bad: [string, unknown, RegExp][] = [
    ['null', null, /not an object/],
    ['wrong kind', { ...good, kind: 'tfidf' }, /kind/],
    ['future version', { ...good, version: 2 }, /version/],
    ['zero dimensions', { ...good, dimensions: 0 }, /dimensions/],
    ['bad n-gram range', { ...good, charNgrams: [3] }, /charNgrams/],
    ['no documents', { ...good, documentCount: 0 }, /documentCount/],
    ['frequencies not an array', { ...good, documentFrequency: {} }, /documentFrequency/],
    ['index out of range', { ...good, documentFrequency: [[2 ** 18, 1]] }, /bad \[index, df\] pair/],
    ['indices descending', { ...good, documentFrequency: [[5, 1], [4, 1]] }, /bad \[index, df\] pair/],
    ['df above the document count', { ...good, documentFrequency: [[4, 3]] }, /bad \[index, df\] pair/],
    ['df not an integer', { ...good, documentFrequency: [[4, 0.5]] }, /bad \[index, df\] pair/],
  ];
  for (const [name, state, message] of bad) t.throws(() => HashedTfidf.fromJSON(state), message, name);
});
