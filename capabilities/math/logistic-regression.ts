import { addScaled, dot, type FeatureVector, isSparse } from './feature-vector.js';
import { decodeLinearModelState, LinearScorer, prepareTrainingSet } from './linear-model-core.js';
import { seededRandom, shuffleInPlace } from './seeded-random.js';
import { softmax } from './vectors.js';

export interface LogisticRegressionOptions {
  /** Passes over the training set. @default 1500 for `batch`, 30 for `sgd` */
  readonly epochs?: number;
  /** L2 penalty on the weights (not the biases): the loss is mean cross-entropy + l2/2·‖W‖². @default 0.0001 */
  readonly l2?: number;
  /** Step size; `sgd` decays it linearly to zero over the run. @default 2 for `batch` (unit-length embeddings), 0.5 for `sgd` */
  readonly learningRate?: number;
  /**
   * `batch`: full-batch gradient descent, every weight updated every epoch; best for a few
   * hundred dense dimensions. `sgd`: seeded mini-batch SGD that touches only the non-zero
   * features of each example, for 2^18-d sparse text features.
   * @default 'batch' when every example is dense, 'sgd' when any is sparse
   */
  readonly optimizer?: 'batch' | 'sgd';
  /** Examples per `sgd` step. @default 1 */
  readonly batchSize?: number;
  /** Seeds the order in which `sgd` visits the examples. @default 0 */
  readonly seed?: number;
}

/**
 * Multinomial logistic regression. Its probabilities are fitted to the training labels, so unlike
 * the SVM's they can be read as confidence (as far as the training set resembles real traffic).
 */
export class LogisticRegression extends LinearScorer {
  private constructor(labels: readonly string[], weights: Float64Array[], biases: Float64Array) {
    super('logistic-regression', labels, weights, biases);
  }

  static fit(features: readonly FeatureVector[], labels: readonly string[], options: LogisticRegressionOptions = {}): LogisticRegression {
    const set = prepareTrainingSet(features, labels);
    const optimizer = options.optimizer ?? (features.some(isSparse) ? 'sgd' : 'batch');
    const epochs = options.epochs ?? (optimizer === 'batch' ? 1500 : 30);
    const l2 = options.l2 ?? 0.0001;
    const rate = options.learningRate ?? (optimizer === 'batch' ? 2 : 0.5);
    const batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`epochs must be a positive integer (got ${epochs})`);
    if (!(l2 >= 0) || !(rate > 0) || rate * l2 >= 1) throw new Error(`need l2 ≥ 0, learningRate > 0 and learningRate × l2 < 1 (got ${l2}, ${rate})`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer (got ${batchSize})`);
    const weights = set.classes.map(() => new Float64Array(set.dimensions));
    const biases = new Float64Array(set.classes.length);
    const model = { features, targets: set.targets, weights, biases, epochs, l2, rate };
    if (optimizer === 'batch') fitBatch(model);
    else fitSgd({ ...model, batchSize, random: seededRandom(options.seed ?? 0) });
    return new LogisticRegression(set.classes, weights, biases);
  }

  /** Loads a model written by `toJSON()`; throws an Error naming the problem when `state` is not one. */
  static fromJSON(state: unknown): LogisticRegression {
    const { labels, weights, biases } = decodeLinearModelState(state, 'logistic-regression');
    return new LogisticRegression(labels, weights, biases);
  }
}

interface Fit {
  readonly features: readonly FeatureVector[];
  readonly targets: Int32Array;
  readonly weights: Float64Array[];
  readonly biases: Float64Array;
  readonly epochs: number;
  readonly l2: number;
  readonly rate: number;
}

/** Softmax probability minus the one-hot target, per class: the cross-entropy gradient at the scores. */
function errors({ weights, biases }: Fit, x: FeatureVector, target: number, scale = 1): number[] {
  return softmax(weights.map((w, c) => scale * dot(w, x) + (biases[c] ?? 0))).map((p, c) => p - (c === target ? 1 : 0));
}

/** Full-batch gradient descent: the original fitter, exact and fast for ~40 dense 512-d examples. */
function fitBatch(fit: Fit): void {
  const { features, targets, weights, biases, l2, rate } = fit;
  const n = features.length;
  const gradW = weights.map((w) => new Float64Array(w.length));
  const gradB = new Float64Array(biases.length);
  for (let epoch = 0; epoch < fit.epochs; epoch += 1) {
    gradW.forEach((g) => g.fill(0));
    gradB.fill(0);
    features.forEach((x, i) => {
      errors(fit, x, targets[i] ?? 0).forEach((error, c) => {
        addScaled(gradW[c] as Float64Array, x, error);
        gradB[c] = (gradB[c] ?? 0) + error;
      });
    });
    weights.forEach((w, c) => {
      const g = gradW[c] as Float64Array;
      for (let d = 0; d < w.length; d += 1) w[d] = (w[d] ?? 0) - rate * ((g[d] ?? 0) / n + l2 * (w[d] ?? 0));
      biases[c] = (biases[c] ?? 0) - (rate * (gradB[c] ?? 0)) / n;
    });
  }
}

/**
 * Mini-batch SGD whose cost per example is its non-zeros times the classes, not the dimensions.
 * The L2 shrink `W ← (1 − ηλ)W` would touch every weight each step, so the weights are kept as
 * `scale · V` and the shrink only multiplies `scale` (Bottou's trick, as in Vowpal Wabbit and
 * scikit-learn's SGDClassifier); `V` absorbs `scale` when it gets small enough to lose precision.
 * The step decays linearly to zero (as fastText does) so the last passes settle instead of
 * jittering around the optimum, which makes the result insensitive to the final example order.
 */
function fitSgd(fit: Fit & { readonly batchSize: number; readonly random: () => number }): void {
  const { features, targets, weights, biases, l2, rate, batchSize, random } = fit;
  const order = Array.from(features, (_, i) => i);
  const stepsPerEpoch = Math.ceil(features.length / batchSize);
  const totalSteps = stepsPerEpoch * fit.epochs;
  let scale = 1;
  const foldScale = (): void => {
    for (const w of weights) for (let d = 0; d < w.length; d += 1) w[d] = (w[d] ?? 0) * scale;
    scale = 1;
  };
  let step = 0;
  for (let epoch = 0; epoch < fit.epochs; epoch += 1) {
    shuffleInPlace(order, random);
    for (let start = 0; start < order.length; start += batchSize, step += 1) {
      const batch = order.slice(start, start + batchSize);
      const eta = rate * (1 - step / totalSteps);
      // Every gradient in the batch is taken at the same weights, before any of them is applied.
      const batchErrors = batch.map((i) => errors(fit, features[i] as FeatureVector, targets[i] ?? 0, scale));
      scale *= 1 - eta * l2;
      batch.forEach((i, b) => {
        const x = features[i] as FeatureVector;
        (batchErrors[b] as number[]).forEach((error, c) => {
          addScaled(weights[c] as Float64Array, x, (-eta * error) / (batch.length * scale));
          biases[c] = (biases[c] ?? 0) - (eta * error) / batch.length;
        });
      });
      if (scale < 1e-6) foldScale();
    }
  }
  foldScale();
}
