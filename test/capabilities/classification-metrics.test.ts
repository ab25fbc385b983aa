import t from 'tap';
import { classificationMetrics, stratifiedSplit } from '../../capabilities/math/classification-metrics.js';

t.test('metrics of a known confusion', async (t) => {
  const actual = ['pos', 'pos', 'pos', 'neg', 'neg', 'neu'];
  const predicted = ['pos', 'pos', 'neg', 'neg', 'pos', 'neg'];
  const m = classificationMetrics(actual, predicted);
  t.same(m.labels, ['neg', 'neu', 'pos']);
  t.same(m.confusion, [
    [1, 0, 1],
    [1, 0, 0],
    [1, 0, 2],
  ]);
  t.equal(m.accuracy, 0.5);
  t.same(m.perClass.pos, { precision: 0.6667, recall: 0.6667, f1: 0.6667, support: 3 });
  t.same(m.perClass.neg, { precision: 0.3333, recall: 0.5, f1: 0.4, support: 2 });
  t.same(m.perClass.neu, { precision: 0, recall: 0, f1: 0, support: 1 }, 'never predicted: precision 0');
  t.equal(m.macroF1, 0.3556);
  t.equal(m.majorityBaseline, 0.5);
  t.same(classificationMetrics(['a'], ['a'], ['a', 'b']).perClass.b, { precision: 0, recall: 0, f1: 0, support: 0 }, 'a known label with no examples');
  t.throws(() => classificationMetrics(['a'], []), RangeError);
  t.throws(() => classificationMetrics([], []), RangeError);
});

t.test('stratified split keeps every label on both sides, deterministically for a seed', async (t) => {
  let state = 7;
  const random = () => ((state = (state * 16807) % 2147483647) / 2147483647);
  const examples = [...Array.from({ length: 20 }, (_, i) => ({ id: i, label: 'a' })), ...Array.from({ length: 5 }, (_, i) => ({ id: 100 + i, label: 'b' })), { id: 200, label: 'c' }];
  const { train, test } = stratifiedSplit(examples, (e) => e.label, 0.2, random);
  t.equal(train.length + test.length, examples.length);
  t.same(new Set([...train, ...test].map((e) => e.id)).size, examples.length, 'each example once');
  t.equal(test.filter((e) => e.label === 'a').length, 4);
  t.equal(test.filter((e) => e.label === 'b').length, 1);
  t.equal(test.filter((e) => e.label === 'c').length, 0, 'a single example stays in training');
});
