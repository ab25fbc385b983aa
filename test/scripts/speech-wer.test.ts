import t from 'tap';
import { normaliseWords, rateOf, wordErrorRate, wordErrors } from '../../scripts/speech/wer.js';

t.test('words are lower-cased and stripped of punctuation', async (t) => {
  t.same(normaliseWords("Hello, World! Don't  stop."), ['hello', 'world', "don't", 'stop']);
  t.same(normaliseWords('  '), []);
});

t.test('identical transcripts have no errors', async (t) => {
  t.equal(wordErrorRate('He was not an ill disposed young man', 'he was NOT an ill-disposed young man.'), 0);
});

t.test('substitutions, deletions and insertions are counted apart', async (t) => {
  t.same(wordErrors('a b c d', 'a x c d'), { substitutions: 1, deletions: 0, insertions: 0, referenceWords: 4 });
  t.same(wordErrors('a b c d', 'a c d'), { substitutions: 0, deletions: 1, insertions: 0, referenceWords: 4 });
  t.same(wordErrors('a b c d', 'a b y c d'), { substitutions: 0, deletions: 0, insertions: 1, referenceWords: 4 });
  t.equal(wordErrorRate('he was not an ill disposed young man', 'he was not an illness closed young man'), 2 / 8);
});

t.test('empty sides', async (t) => {
  t.equal(wordErrorRate('', ''), 0);
  t.equal(wordErrorRate('one two', ''), 1);
  t.equal(wordErrorRate('', 'one two'), 2);
});

t.test('a set pools edits over reference words', async (t) => {
  t.equal(rateOf([wordErrors('a b', 'a b'), wordErrors('a b c d e f', 'a')]), 5 / 8);
});
