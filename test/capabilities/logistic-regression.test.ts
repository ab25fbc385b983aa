import t from 'tap';
import { LogisticRegression } from '../../capabilities/math/logistic-regression.js';

t.test('separates linearly separable classes and returns calibrated-looking probabilities', async (t) => {
  const features: number[][] = [];
  const labels: string[] = [];
  for (let i = 0; i < 40; i += 1) {
    const jitter = ((i * 7919) % 100) / 500;
    features.push([1 + jitter, 0.2 - jitter]);
    labels.push('pos');
    features.push([-1 - jitter, -0.2 + jitter]);
    labels.push('neg');
  }
  const model = LogisticRegression.fit(features, labels, { epochs: 200, l2: 0.001 });
  t.same(model.labels, ['neg', 'pos']);
  const correct = features.filter((x, i) => (model.predict(x)[1]! > 0.5 ? 'pos' : 'neg') === labels[i]).length;
  t.equal(correct, features.length);
  const p = model.predict([2, 0]);
  t.ok(p[1]! > 0.9, `confident on a clear example (${p[1]})`);
  t.ok(Math.abs(p[0]! + p[1]! - 1) < 1e-9, 'probabilities sum to 1');
});

t.test('rejects unusable training sets', async (t) => {
  t.throws(() => LogisticRegression.fit([[1]], ['a'], { epochs: 1, l2: 0 }), /two classes/);
  t.throws(() => LogisticRegression.fit([[1], [2]], ['a'], { epochs: 1, l2: 0 }), /as many labels/);
});
