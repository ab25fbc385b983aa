import t from 'tap';
import { classificationMetrics, stratifiedSplit } from '../../../capabilities/math/classification-metrics.js';
import { type FeatureVector } from '../../../capabilities/math/feature-vector.js';
import { HashedTfidf } from '../../../capabilities/math/hashed-tfidf.js';
import { fitLinearClassifier, type LinearAlgorithm, type LinearClassifier, loadLinearClassifier } from '../../../capabilities/math/linear-model.js';
import { LinearSvm } from '../../../capabilities/math/linear-svm.js';
import { LogisticRegression } from '../../../capabilities/math/logistic-regression.js';
import { seededRandom } from '../../../capabilities/math/seeded-random.js';

const algorithms: LinearAlgorithm[] = ['logistic-regression', 'linear-svm'];
const argmax = (model: LinearClassifier, x: FeatureVector): string => {
  const p = model.predict(x);
  return model.labels[p.indexOf(Math.max(...p))] ?? '';
};
const accuracy = (model: LinearClassifier, features: readonly FeatureVector[], labels: readonly string[]): number =>
  features.filter((x, i) => argmax(model, x) === labels[i]).length / features.length;

/** Three well-separated dense clusters in 8 dimensions. */
function denseProblem(): { features: number[][]; labels: string[] } {
  const random = seededRandom(11);
  const features: number[][] = [];
  const labels: string[] = [];
  for (let i = 0; i < 90; i += 1) {
    const c = i % 3;
    features.push(Array.from({ length: 8 }, (_, d) => (d === c ? 2 : 0) + (random() - 0.5)));
    labels.push(['north', 'east', 'west'][c] ?? '');
  }
  return { features, labels };
}

/** ~600 support tickets over 3 classes: a few class words among shared filler, 10% of labels wrong. */
function textProblem(): { text: string; label: string }[] {
  const vocabulary: Record<string, string[]> = {
    billing: 'invoice refund charge payment card price bill overcharged subscription receipt'.split(' '),
    shipping: 'parcel delivery courier tracking package arrived late warehouse shipped address'.split(' '),
    technical: 'crash login password error screen update bug install app freeze'.split(' '),
  };
  const filler = 'the a my and it was is to of please help thanks today still not with this that again hello'.split(' ');
  const classes = Object.keys(vocabulary);
  const random = seededRandom(1);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: 600 }, (_, i) => {
    const label = classes[i % classes.length] ?? '';
    const words = Array.from({ length: 6 + Math.floor(random() * 8) }, () => pick(random() < 0.3 ? (vocabulary[label] ?? []) : filler));
    return { text: words.join(' '), label: random() < 0.1 ? pick(classes.filter((c) => c !== label)) : label };
  });
}

const { train, test } = stratifiedSplit(textProblem(), (e) => e.label, 0.25, seededRandom(2));
const tfidf = HashedTfidf.fit(train.map((e) => e.text));
const trainX = train.map((e) => tfidf.transform(e.text));
const trainY = train.map((e) => e.label);
const testX = test.map((e) => tfidf.transform(e.text));
const testY = test.map((e) => e.label);

for (const algorithm of algorithms) {
  t.test(`${algorithm}: separates dense clusters`, async (t) => {
    const { features, labels } = denseProblem();
    const model = fitLinearClassifier(algorithm, features, labels);
    t.same(model.labels, ['east', 'north', 'west']);
    t.equal(accuracy(model, features, labels), 1);
    const p = model.predict([2, 0, 0, 0, 0, 0, 0, 0]);
    t.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12, 'probabilities sum to 1');
    const margins = model.margins([2, 0, 0, 0, 0, 0, 0, 0]);
    t.equal(p.indexOf(Math.max(...p)), margins.indexOf(Math.max(...margins)), 'ranked like the margins');
    const state = model.toJSON();
    t.equal(state.weights.format, 'dense', 'few dimensions: dense rows');
    const loaded = loadLinearClassifier(JSON.parse(JSON.stringify(state)));
    t.same(features.map((x) => loaded.predict(x)), features.map((x) => model.predict(x)), 'identical predictions after a JSON round trip');
  });

  t.test(`${algorithm}: learns a noisy text problem through hashed TF-IDF`, async (t) => {
    const model = fitLinearClassifier(algorithm, trainX, trainY, { seed: 5 });
    const metrics = classificationMetrics(testY, testX.map((x) => argmax(model, x)));
    t.ok(metrics.majorityBaseline < 0.4, `majority baseline ${metrics.majorityBaseline}`);
    t.ok(metrics.accuracy >= 0.8, `held-out accuracy ${metrics.accuracy} on ${test.length} texts`);

    const state = model.toJSON();
    t.equal(state.weights.format, 'sparse', '2^18 dimensions: [index, value] pairs');
    const rows = state.weights.format === 'sparse' ? state.weights.rows : [];
    t.ok(rows.every((row) => row.length > 0 && row.length < 10_000 && row.every(([, w]) => w !== 0)), 'only non-zero weights are stored');
    const loaded = loadLinearClassifier(JSON.parse(JSON.stringify(state)));
    t.equal(loaded.algorithm, algorithm);
    t.same(testX.map((x) => loaded.predict(x)), testX.map((x) => model.predict(x)), 'identical predictions after a JSON round trip');

    t.same(fitLinearClassifier(algorithm, trainX, trainY, { seed: 5 }).toJSON(), state, 'the same seed gives the same weights');
    t.not(JSON.stringify(fitLinearClassifier(algorithm, trainX, trainY, { seed: 6 }).toJSON()), JSON.stringify(state), 'another seed visits examples in another order');
  });

  t.test(`${algorithm}: rejects unusable training sets`, async (t) => {
    const fit = (features: FeatureVector[], labels: string[]): LinearClassifier => fitLinearClassifier(algorithm, features, labels);
    t.throws(() => fit([[1], [2]], ['a', 'a']), /two classes/);
    t.throws(() => fit([[1], [2]], ['a']), /as many labels/);
    t.throws(() => fit([], []), /training examples/);
    t.throws(() => fit([[1, 2], [3]], ['a', 'b']), /example 1: has 1 dimensions, expected 2/);
    t.throws(() => fit([[1], [Number.NaN]], ['a', 'b']), /example 1: value NaN/);
    const sparse = (indices: number[], values: number[]): FeatureVector => ({ dimensions: 10, indices, values });
    t.throws(() => fit([sparse([1], [1]), sparse([3, 2], [1, 1])], ['a', 'b']), /example 1: index 2 is out of range or out of order/);
    t.throws(() => fit([sparse([1], [1]), sparse([10], [1])], ['a', 'b']), /index 10/);
    t.throws(() => fit([sparse([1], [1]), sparse([2], [])], ['a', 'b']), /1 indices but 0 values/);
    t.throws(() => fit([sparse([1], [1]), [1, 2]], ['a', 'b']), /expected 10/);
    const model = fit([sparse([1], [1]), sparse([2], [1])], ['a', 'b']);
    t.throws(() => model.predict([1, 2, 3]), /expected a 10-dimensional vector, got 3/);
  });
}

t.test('linear SVM options: both losses learn; bad options throw', async (t) => {
  const hinge = LinearSvm.fit(trainX, trainY, { loss: 'hinge', c: 0.5 });
  t.ok(accuracy(hinge, testX, testY) >= 0.8, 'hinge loss');
  t.throws(() => LinearSvm.fit(trainX, trainY, { c: 0 }), /c must be a positive number/);
  t.throws(() => LinearSvm.fit(trainX, trainY, { maxIterations: 0 }), /maxIterations/);
  t.throws(() => LinearSvm.fit(trainX, trainY, { tolerance: -1 }), /tolerance/);
  const capped = LinearSvm.fit(trainX, trainY, { maxIterations: 1 });
  t.ok(accuracy(capped, testX, testY) > 0.5, 'one pass already learns something, and stops');
});

t.test('logistic regression options: mini-batches, full batch on sparse input, bad options', async (t) => {
  t.ok(accuracy(LogisticRegression.fit(trainX, trainY, { batchSize: 16, learningRate: 2 }), testX, testY) >= 0.8, 'mini-batch SGD');
  const small = trainX.filter((_, i) => i % 5 === 0);
  const smallY = trainY.filter((_, i) => i % 5 === 0);
  const batch = LogisticRegression.fit(small, smallY, { optimizer: 'batch', epochs: 50 });
  t.ok(accuracy(batch, small, smallY) > 0.8, 'full-batch gradient descent also takes sparse vectors');
  const p = LogisticRegression.fit(trainX, trainY).predict(tfidf.transform('refund the invoice charge on my card'));
  t.ok((p[0] ?? 0) > 0.8, `confident on a clear billing text (${p[0]})`);
  t.throws(() => LogisticRegression.fit(trainX, trainY, { epochs: 0 }), /epochs/);
  t.throws(() => LogisticRegression.fit(trainX, trainY, { batchSize: 0 }), /batchSize/);
  t.throws(() => LogisticRegression.fit(trainX, trainY, { learningRate: 10, l2: 0.1 }), /learningRate × l2 < 1/);
  t.throws(() => LogisticRegression.fit([[1e300], [-1e300]], ['a', 'b'], { epochs: 3 }), /diverged/);
});

t.test('loading rejects bad states, naming the problem', async (t) => {
  const good = LinearSvm.fit([[1, 0], [0, 1]], ['a', 'b']).toJSON();
  const sparseRows = { format: 'sparse', rows: [[[0, 1]], [[1, -1]]] };
  const bad: [string, unknown, RegExp][] = [
    ['not an object', 'model', /unknown algorithm undefined/],
    ['unknown algorithm', { ...good, algorithm: 'naive-bayes' }, /unknown algorithm "naive-bayes"/],
    ['future version', { ...good, version: 2 }, /unsupported version 2/],
    ['one label', { ...good, labels: ['a'] }, /at least two strings/],
    ['repeated labels', { ...good, labels: ['a', 'a'] }, /labels repeat/],
    ['fractional dimensions', { ...good, dimensions: 1.5 }, /dimensions must be a positive integer/],
    ['missing bias', { ...good, biases: [0] }, /biases/],
    ['null bias (NaN in JSON)', { ...good, biases: [0, null] }, /biases/],
    ['missing row', { ...good, weights: { format: 'dense', rows: [[1, 0]] } }, /one row per label/],
    ['short dense row', { ...good, weights: { format: 'dense', rows: [[1], [0, 1]] } }, /row 0 must be 2 finite numbers/],
    ['unknown format', { ...good, weights: { ...sparseRows, format: 'csr' } }, /format must be "dense" or "sparse"/],
    ['index out of range', { ...good, weights: { format: 'sparse', rows: [[[2, 1]], []] } }, /row 0 has a bad \[index, value\] pair \[2,1\]/],
    ['indices descending', { ...good, weights: { format: 'sparse', rows: [[[1, 1], [0, 1]], []] } }, /bad \[index, value\] pair \[0,1\]/],
    ['not a pair', { ...good, weights: { format: 'sparse', rows: [[[1]], []] } }, /bad \[index, value\] pair/],
  ];
  for (const [name, state, message] of bad) t.throws(() => loadLinearClassifier(state), message, name);
  t.same(loadLinearClassifier({ ...good, weights: sparseRows }).margins([1, 1]), [1 + (good.biases[0] ?? 0), -1 + (good.biases[1] ?? 0)], 'sparse rows load at any size');
  t.throws(() => LogisticRegression.fromJSON(good), /invalid logistic-regression state: algorithm is "linear-svm"/);
});
