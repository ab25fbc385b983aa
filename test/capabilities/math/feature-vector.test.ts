import t from 'tap';
import { addScaled, checkFeatureVectors, dimensionsOf, dot, isSparse, type SparseVector, squaredNorm } from '../../../capabilities/math/feature-vector.js';
import { seededRandom, shuffleInPlace } from '../../../capabilities/math/seeded-random.js';

t.test('sparse and dense forms of one vector behave alike', async (t) => {
  const dense = [0, 2, 0, 0, -1, 0];
  const sparse: SparseVector = { dimensions: 6, indices: new Int32Array([1, 4]), values: new Float32Array([2, -1]) };
  const weights = Float64Array.from([1, 2, 3, 4, 5, 6]);
  t.equal(isSparse(sparse), true);
  t.equal(isSparse(dense), false);
  t.equal(isSparse(new Float32Array(dense)), false);
  t.equal(dimensionsOf(sparse), 6);
  t.equal(dimensionsOf(new Float64Array(dense)), 6);
  t.equal(dot(weights, sparse), -1);
  t.equal(dot(weights, dense), -1);
  t.equal(squaredNorm(sparse), 5);
  t.equal(squaredNorm(dense), 5);
  const a = new Float64Array(6);
  const b = new Float64Array(6);
  addScaled(a, sparse, 0.5);
  addScaled(b, dense, 0.5);
  t.same([...a], [0, 1, 0, 0, -0.5, 0]);
  t.same([...a], [...b]);
});

t.test('checkFeatureVectors names the first malformed example', async (t) => {
  t.doesNotThrow(() => checkFeatureVectors([[1, 2], { dimensions: 2, indices: [], values: [] }], 2));
  t.throws(() => checkFeatureVectors([[1, 2], [1]], 2), /example 1: has 1 dimensions, expected 2/);
  t.throws(() => checkFeatureVectors([{ dimensions: 2, indices: [0, 0], values: [1, 1] }], 2), /example 0: index 0 is out of range or out of order/);
  t.throws(() => checkFeatureVectors([{ dimensions: 2, indices: [0.5], values: [1] }], 2), /index 0.5/);
  t.throws(() => checkFeatureVectors([{ dimensions: 2, indices: [-1], values: [1] }], 2), /index -1/);
  t.throws(() => checkFeatureVectors([[1, Infinity]], 2), /value Infinity is not a finite number/);
});

t.test('seeded randomness is reproducible and uniform enough to shuffle', async (t) => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const draws = Array.from({ length: 1000 }, () => a());
  t.same(Array.from({ length: 1000 }, () => b()), draws, 'same seed, same sequence');
  t.not(seededRandom(43)(), draws[0], 'another seed, another sequence');
  t.ok(draws.every((x) => x >= 0 && x < 1), 'in [0, 1)');
  t.ok(Math.abs(draws.reduce((s, x) => s + x, 0) / draws.length - 0.5) < 0.05, 'mean near 1/2');
  const items = Array.from({ length: 20 }, (_, i) => i);
  const shuffled = shuffleInPlace([...items], seededRandom(1));
  t.same([...shuffled].sort((x, y) => x - y), items, 'a permutation');
  t.not(shuffled.join(), items.join(), 'that moves things');
  t.same(shuffleInPlace([...items], seededRandom(1)), shuffled, 'deterministically');
});
