/**
 * What every linear classifier here shares: the training-set checks, scoring (one weight row and
 * bias per class), and the serialised state with its validation. Kept apart from linear-model.ts
 * so that the algorithms can build on it without importing the module that dispatches to them.
 */
import { checkFeatureVectors, dimensionsOf, dot, type FeatureVector } from './feature-vector.js';
import { softmax } from './vectors.js';

export type LinearAlgorithm = 'logistic-regression' | 'linear-svm';

/**
 * Per-class weight rows, in `labels` order. `dense` rows hold every weight; `sparse` rows hold
 * `[index, value]` pairs of the non-zero weights with indices ascending, because a 2^18-d text
 * model has most of its weights at exactly zero (features never seen in training).
 */
export type LinearModelWeights = { readonly format: 'dense'; readonly rows: number[][] } | { readonly format: 'sparse'; readonly rows: [number, number][][] };

/** A fitted linear classifier as plain JSON. Numbers round-trip exactly, so predictions do too. */
export interface LinearModelState {
  readonly version: 1;
  readonly algorithm: LinearAlgorithm;
  readonly labels: string[];
  readonly dimensions: number;
  readonly weights: LinearModelWeights;
  readonly biases: number[];
}

/** Up to this many dimensions `toJSON()` writes dense rows: pairs would cost more than they save. */
export const DENSE_STATE_MAX_DIMENSIONS = 4096;

export interface TrainingSet {
  /** The distinct labels, sorted: the order of every per-class array. */
  readonly classes: string[];
  /** Each example's index into `classes`. */
  readonly targets: Int32Array;
  readonly dimensions: number;
}

/** Validates a training set once, before any fitting, and indexes its labels. */
export function prepareTrainingSet(features: readonly FeatureVector[], labels: readonly string[]): TrainingSet {
  if (features.length !== labels.length) throw new Error(`need as many labels as examples (got ${features.length} examples, ${labels.length} labels)`);
  if (features.length === 0) throw new Error('need training examples (got none)');
  const classes = [...new Set(labels)].sort();
  if (classes.length < 2) throw new Error(`need at least two classes to fit a classifier (got ${classes.length}: ${classes.join(', ')})`);
  const dimensions = dimensionsOf(features[0] as FeatureVector);
  if (dimensions < 1) throw new Error('need at least one feature dimension');
  checkFeatureVectors(features, dimensions);
  const index = new Map(classes.map((label, c) => [label, c]));
  return { classes, targets: Int32Array.from(labels, (label) => index.get(label) ?? 0), dimensions };
}

/** One weight row and bias per class; subclasses differ only in how they fit them. */
export class LinearScorer {
  readonly algorithm: LinearAlgorithm;
  readonly labels: readonly string[];
  readonly dimensions: number;
  readonly #weights: readonly Float64Array[];
  readonly #biases: Float64Array;

  protected constructor(algorithm: LinearAlgorithm, labels: readonly string[], weights: readonly Float64Array[], biases: Float64Array) {
    // A diverged fit (learning rate too high) would serialise NaN as null and fail to load later.
    if (weights.some((row) => row.some((w) => !Number.isFinite(w))) || biases.some((b) => !Number.isFinite(b))) {
      throw new Error(`${algorithm}: training diverged (non-finite weights); lower the learning rate`);
    }
    this.algorithm = algorithm;
    this.labels = Object.freeze([...labels]);
    this.dimensions = weights[0]?.length ?? 0;
    this.#weights = weights;
    this.#biases = biases;
  }

  /** Raw per-class scores `w_c · x + b_c`, in `labels` order. */
  margins(x: FeatureVector): number[] {
    if (dimensionsOf(x) !== this.dimensions) throw new Error(`expected a ${this.dimensions}-dimensional vector, got ${dimensionsOf(x)}`);
    return this.#weights.map((w, c) => dot(w, x) + (this.#biases[c] ?? 0));
  }

  /** Class probabilities in `labels` order: softmax over the margins. */
  predict(x: FeatureVector): number[] {
    return softmax(this.margins(x));
  }

  toJSON(): LinearModelState {
    const rows = this.#weights;
    const weights: LinearModelWeights =
      this.dimensions <= DENSE_STATE_MAX_DIMENSIONS
        ? { format: 'dense', rows: rows.map((w) => Array.from(w)) }
        : { format: 'sparse', rows: rows.map((w) => nonZeroPairs(w)) };
    return { version: 1, algorithm: this.algorithm, labels: [...this.labels], dimensions: this.dimensions, weights, biases: Array.from(this.#biases) };
  }
}

function nonZeroPairs(w: Float64Array): [number, number][] {
  const pairs: [number, number][] = [];
  w.forEach((value, i) => {
    if (value !== 0) pairs.push([i, value]);
  });
  return pairs;
}

/** The checked contents of a `LinearModelState`, ready for a `LinearScorer` constructor. */
export interface DecodedLinearModel {
  readonly labels: string[];
  readonly weights: Float64Array[];
  readonly biases: Float64Array;
}

/** Validates untrusted JSON as a `LinearModelState` of `algorithm`; throws an Error naming the first problem. */
export function decodeLinearModelState(state: unknown, algorithm: LinearAlgorithm): DecodedLinearModel {
  const fail = (problem: string): never => {
    throw new Error(`invalid ${algorithm} state: ${problem}`);
  };
  if (typeof state !== 'object' || state === null) return fail('not an object');
  const s = state as Partial<Record<keyof LinearModelState, unknown>>;
  if (s.version !== 1) fail(`unsupported version ${JSON.stringify(s.version)}`);
  if (s.algorithm !== algorithm) fail(`algorithm is ${JSON.stringify(s.algorithm)}`);
  const labels = s.labels;
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === 'string')) return fail('labels must be at least two strings');
  if (new Set(labels).size !== labels.length) fail('labels repeat');
  const dimensions = s.dimensions;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1) return fail('dimensions must be a positive integer');
  const biases = s.biases;
  if (!Array.isArray(biases) || biases.length !== labels.length || !biases.every(isFiniteNumber)) fail('biases must be one finite number per label');
  const weights = s.weights as { format?: unknown; rows?: unknown } | null | undefined;
  const rows = weights?.rows;
  if (!Array.isArray(rows) || rows.length !== labels.length) return fail('weights.rows must have one row per label');
  const decoded = rows.map((row: unknown, c) => {
    const w = new Float64Array(dimensions);
    if (!Array.isArray(row)) return fail(`weights row ${c} is not an array`);
    if (weights?.format === 'dense') {
      if (row.length !== dimensions || !row.every(isFiniteNumber)) fail(`weights row ${c} must be ${dimensions} finite numbers`);
      w.set(row as number[]);
    } else if (weights?.format === 'sparse') {
      let previous = -1;
      for (const pair of row as unknown[]) {
        const [i, value] = Array.isArray(pair) && pair.length === 2 ? (pair as unknown[]) : [];
        if (typeof i !== 'number' || !Number.isInteger(i) || i <= previous || i >= dimensions || !isFiniteNumber(value)) {
          fail(`weights row ${c} has a bad [index, value] pair ${JSON.stringify(pair)} (indices ascending, below ${dimensions})`);
        }
        w[i as number] = value as number;
        previous = i as number;
      }
    } else {
      fail(`weights.format must be "dense" or "sparse", got ${JSON.stringify(weights?.format)}`);
    }
    return w;
  });
  return { labels: labels as string[], weights: decoded, biases: Float64Array.from(biases as number[]) };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
