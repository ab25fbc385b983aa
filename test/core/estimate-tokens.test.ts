import t from 'tap';
import { estimateTokens } from '../../core/estimate-tokens.js';

t.test('max(words × 1.3, other chars / 4 + CJK chars), rounded up', async (t) => {
  const cases: [name: string, text: string, tokens: number][] = [
    ['empty', '', 0],
    ['whitespace only', ' \n\t ', 1], // 4 characters / 4
    ['one short word', 'hi', 2], // ceil(1.3)
    ['ten short words: words win', 'a b c d e f g h i j', 13], // 19 chars / 4 = 4.75 < 13
    ['a long unspaced string: characters win', 'x'.repeat(400), 100],
    ['an English sentence', 'The app crashes every time I log in.', 11], // 8 words × 1.3 = 10.4 → 11 > 36 chars / 4 = 9
    ['CJK counts a token per character', '日本語のテキスト', 8],
    ['mixed scripts', 'hello 世界', 4], // 6 other chars / 4 + 2 = 3.5 → 4; 2 words → 2.6
    ['an emoji is one character', '😀😀😀😀', 2], // one word → 1.3 → 2; 4 code points / 4 = 1
  ];
  for (const [name, text, tokens] of cases) t.equal(estimateTokens(text), tokens, name);
});

t.test('grows linearly and stays cheap on a large text', async (t) => {
  t.equal(estimateTokens('to be or not to be '.repeat(10_000)), 78_000, '60,000 short words: words win');
  t.equal(estimateTokens('lorem ipsum dolor sit amet '.repeat(40_000)), 270_000, '1,080,000 characters: characters win');
});
