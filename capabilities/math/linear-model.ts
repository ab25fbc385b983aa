/**
 * One seam for the trainable text classifiers: fit either algorithm by name, store the result as
 * JSON, and load it back without knowing in advance which algorithm wrote it.
 */
import { type FeatureVector } from './feature-vector.js';
import { type LinearAlgorithm, type LinearModelState } from './linear-model-core.js';
import { LinearSvm, type LinearSvmOptions } from './linear-svm.js';
import { LogisticRegression, type LogisticRegressionOptions } from './logistic-regression.js';

export { DENSE_STATE_MAX_DIMENSIONS, type LinearAlgorithm, type LinearModelState, type LinearModelWeights } from './linear-model-core.js';

/** A fitted linear classifier over dense or sparse features. */
export interface LinearClassifier {
  readonly algorithm: LinearAlgorithm;
  /** The class labels, sorted: the order of `predict`'s and `margins`' results. */
  readonly labels: readonly string[];
  readonly dimensions: number;
  /** Class probabilities in `labels` order (for `linear-svm`, a softmax of margins: not calibrated). */
  predict(x: FeatureVector): number[];
  /** Raw per-class scores `w · x + b`, in `labels` order. */
  margins(x: FeatureVector): number[];
  /** Plain JSON that `loadLinearClassifier` turns back into a model with identical predictions. */
  toJSON(): LinearModelState;
}

/** The options each algorithm's fit accepts. */
export interface LinearClassifierOptions {
  'logistic-regression': LogisticRegressionOptions;
  'linear-svm': LinearSvmOptions;
}

/** Fits `algorithm` to the examples; throws an Error on an unusable training set or options. */
export function fitLinearClassifier<A extends LinearAlgorithm>(
  algorithm: A,
  features: readonly FeatureVector[],
  labels: readonly string[],
  options: LinearClassifierOptions[A] = {},
): LinearClassifier {
  if (algorithm === 'logistic-regression') return LogisticRegression.fit(features, labels, options);
  if (algorithm === 'linear-svm') return LinearSvm.fit(features, labels, options);
  throw new Error(`unknown linear classifier algorithm ${JSON.stringify(algorithm)}`);
}

/** Loads a `toJSON()` state of either algorithm; throws an Error naming the problem when it is not one. */
export function loadLinearClassifier(state: unknown): LinearClassifier {
  const algorithm = typeof state === 'object' && state !== null ? (state as { algorithm?: unknown }).algorithm : undefined;
  if (algorithm === 'logistic-regression') return LogisticRegression.fromJSON(state);
  if (algorithm === 'linear-svm') return LinearSvm.fromJSON(state);
  throw new Error(`invalid linear model state: unknown algorithm ${JSON.stringify(algorithm)}`);
}
