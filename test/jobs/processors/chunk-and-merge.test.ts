import t from 'tap';
import { chunkText } from '../../../jobs/processors/chunk-text.js';
import { mergeChunkResults } from '../../../jobs/processors/merge-chunk-results.js';

t.test('chunkText cuts at sentence and word boundaries within the limit', async (t) => {
  const text = 'One two three. Four five six! Seven eight nine?\n\nTen eleven.';
  const chunks = chunkText(text, 20);
  t.same(chunks, ['One two three.', 'Four five six!', 'Seven eight nine?', 'Ten eleven.']);
  for (const chunk of chunkText('word '.repeat(200), 37)) t.ok(chunk.length <= 37, `≤ 37: ${chunk.length}`);
  t.same(chunkText('x'.repeat(25), 10), ['xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxx'], 'a word longer than a chunk is cut');
  t.same(chunkText('  \n ', 10), []);
  const joined = chunkText('a b c d e f g h i j k l m n o p', 5).join(' ');
  t.equal(joined, 'a b c d e f g h i j k l m n o p', 'nothing is lost');
});

t.test('mergeChunkResults merges each result shape by its rule', async (t) => {
  t.same(mergeChunkResults([[1, 0], [0, 1]], [3, 1]), [0.75, 0.25], 'vectors: weighted mean');
  t.same(
    mergeChunkResults(
      [
        { label: 'negative', score: 0.9, scores: { negative: 0.9, positive: 0.1 } },
        { label: 'positive', score: 0.7, scores: { negative: 0.3, positive: 0.7 } },
      ],
      [1, 3],
    ),
    { label: 'positive', score: 0.55, scores: { negative: 0.45, positive: 0.55 } },
  );
  t.match(
    mergeChunkResults(
      [
        { top: 'a', labels: [{ label: 'a', score: 0.6 }], scores: { a: 0.6, b: 0.4 } },
        { top: 'b', labels: [{ label: 'b', score: 0.9 }], scores: { a: 0.1, b: 0.9 } },
      ],
      [1, 1],
    ),
    { top: 'b', labels: [{ label: 'b', score: 0.65 }], scores: { a: 0.35, b: 0.65 } },
  );
  const alert = { rule: 'keyword', severity: 'high', message: 'mentions "fraud"' };
  t.same(
    mergeChunkResults([{ triggered: true, alerts: [alert] }, { triggered: false, alerts: [] }, { triggered: true, alerts: [alert] }], [1, 1, 1]),
    { triggered: true, alerts: [alert] },
    'alerts: union',
  );
  t.same(
    mergeChunkResults(
      [{ items: [{ id: 'x', score: 0.2 }, { id: 'y', score: 0.1 }] }, { items: [{ id: 'y', score: 0.9 }, { id: 'z', score: 0.3 }] }],
      [1, 1],
    ),
    { items: [{ id: 'y', score: 0.9 }, { id: 'z', score: 0.3 }] },
  );
  t.same(mergeChunkResults([{ language: 'eng' }, { language: 'fra' }, { language: 'eng' }], [1, 5, 1]), { language: 'fra', confidence: 0.7143 });
  t.same(mergeChunkResults(['a', 'b'], [1, 1]), ['a', 'b'], 'unknown shapes: the chunk results');
  t.equal(mergeChunkResults(['only'], [1]), 'only');
});
