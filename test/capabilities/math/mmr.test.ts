import t from 'tap';
import { maximalMarginalRelevance } from '../../../capabilities/math/mmr.js';

const vectors = [
  [1, 0, 0],
  [0.99, 0.05, 0],
  [0.3, 1, 0],
  [0, 0, 1],
];
const relevance = [1, 0.98, 0.8, 0.2];

t.test('lambda 1 follows relevance; lower lambdas skip a near-copy of a pick', async (t) => {
  t.same(maximalMarginalRelevance(vectors, relevance, { lambda: 1, limit: 3 }), [0, 1, 2]);
  t.same(maximalMarginalRelevance(vectors, relevance, { lambda: 0.6, limit: 2 }), [0, 2], 'the near-copy 1 loses to 2');
  t.same(maximalMarginalRelevance(vectors, relevance, { lambda: 0.6, limit: 3 }), [0, 2, 1], 'then it still beats the far less relevant 3');
  t.same(maximalMarginalRelevance(vectors, relevance, { lambda: 0.3, limit: 3 }), [0, 3, 2], 'a low lambda favours novelty');
  t.same(maximalMarginalRelevance(vectors, relevance, { lambda: 0, limit: 2 }), [0, 3], 'novelty alone; the first pick is still the most relevant');
  t.same(maximalMarginalRelevance(vectors, relevance, { lambda: 0.6, limit: 10 }).sort(), [0, 1, 2, 3], 'never more than there are');
  t.same(maximalMarginalRelevance([], [], { lambda: 0.5, limit: 3 }), []);
});

t.test('a shortlist keeps a peripheral item out until the shortlist is spent', async (t) => {
  t.same(maximalMarginalRelevance(vectors, relevance, { lambda: 0.3, limit: 3, pool: 3 }), [0, 2, 1]);
  t.same(maximalMarginalRelevance(vectors, relevance, { lambda: 0.3, limit: 4, pool: 3 }), [0, 2, 1, 3]);
  t.same(maximalMarginalRelevance(vectors, relevance, { lambda: 0.3, limit: 3, pool: 0 }), [0, 3, 2], 'a shortlist of at least one');
});

t.test('a refused item is dropped and the next best is tried; ties go to the earlier item', async (t) => {
  const seen: number[] = [];
  const picked = maximalMarginalRelevance(vectors, relevance, {
    lambda: 0.6,
    limit: 2,
    accept: (i) => {
      seen.push(i);
      return i !== 0;
    },
  });
  t.same(picked, [1, 2]);
  t.same(seen, [0, 1, 2], 'each item asked at most once');
  t.same(maximalMarginalRelevance([[1, 0], [1, 0], [0, 0]], [1, 1, 1], { lambda: 0.5, limit: 3 }), [0, 2, 1], 'zero vectors are similar to nothing, no NaN');
});

t.test('work is bounded: 200 items, every one refused, one pass each', async (t) => {
  const many = Array.from({ length: 200 }, (_, i) => [Math.cos(i), Math.sin(i), 1]);
  let asked = 0;
  const picked = maximalMarginalRelevance(many, many.map((_, i) => 1 - i / 200), {
    lambda: 0.5,
    limit: 3,
    pool: 50,
    accept: () => {
      asked += 1;
      return false;
    },
  });
  t.same(picked, []);
  t.equal(asked, 200);
});
