import { addScaled, dot, type FeatureVector, squaredNorm } from './feature-vector.js';
import { decodeLinearModelState, LinearScorer, prepareTrainingSet } from './linear-model-core.js';
import { seededRandom, shuffleInPlace } from './seeded-random.js';

export interface LinearSvmOptions {
  /** Inverse regularisation strength: larger fits the training set harder. @default 1 */
  readonly c?: number;
  /** `hinge` is the classic SVM; `squared-hinge` is smoother and liblinear's default. @default 'squared-hinge' */
  readonly loss?: 'hinge' | 'squared-hinge';
  /** Most passes over the training set, per class. @default 1000 */
  readonly maxIterations?: number;
  /** Stop once the projected-gradient spread of a pass falls to this (liblinear's `eps`). @default 0.1 */
  readonly tolerance?: number;
  /** Seeds the order in which each pass visits the examples. @default 0 */
  readonly seed?: number;
}

/**
 * Multiclass linear SVM: one-vs-rest, L2-regularised hinge or squared-hinge loss, fitted by dual
 * coordinate descent (Hsieh et al., "A Dual Coordinate Descent Method for Large-scale Linear
 * SVM", ICML 2008, the solver behind liblinear). Each step solves one example's dual variable in
 * closed form and costs one sparse dot product plus one sparse update, so a pass over thousands of
 * hashed-TF-IDF examples takes milliseconds, and it needs no learning rate.
 *
 * The bias is a constant feature of 1 appended to every example, so it is regularised like the
 * other weights (as in liblinear); with unit-length features that barely matters.
 */
export class LinearSvm extends LinearScorer {
  private constructor(labels: readonly string[], weights: Float64Array[], biases: Float64Array) {
    super('linear-svm', labels, weights, biases);
  }

  static fit(features: readonly FeatureVector[], labels: readonly string[], options: LinearSvmOptions = {}): LinearSvm {
    const { classes, targets, dimensions } = prepareTrainingSet(features, labels);
    const c = options.c ?? 1;
    const maxIterations = options.maxIterations ?? 1000;
    const tolerance = options.tolerance ?? 0.1;
    if (!(c > 0) || !Number.isFinite(c)) throw new Error(`c must be a positive number (got ${c})`);
    if (!Number.isInteger(maxIterations) || maxIterations < 1) throw new Error(`maxIterations must be a positive integer (got ${maxIterations})`);
    if (!(tolerance > 0)) throw new Error(`tolerance must be positive (got ${tolerance})`);
    // Hinge: box 0 ≤ α ≤ C. Squared hinge: no upper bound, 1/(2C) added to the diagonal instead.
    const squared = (options.loss ?? 'squared-hinge') === 'squared-hinge';
    const upper = squared ? Infinity : c;
    const diagonal = squared ? 1 / (2 * c) : 0;
    const qii = Float64Array.from(features, (x) => squaredNorm(x) + 1 + diagonal);
    const random = seededRandom(options.seed ?? 0);
    const order = Array.from(features, (_, i) => i);
    const weights: Float64Array[] = [];
    const biases = new Float64Array(classes.length);
    for (let k = 0; k < classes.length; k += 1) {
      const w = new Float64Array(dimensions);
      let bias = 0;
      const alpha = new Float64Array(features.length);
      for (let pass = 0; pass < maxIterations; pass += 1) {
        shuffleInPlace(order, random);
        let maxPg = -Infinity;
        let minPg = Infinity;
        for (const i of order) {
          const x = features[i] as FeatureVector;
          const y = targets[i] === k ? 1 : -1;
          const a = alpha[i] as number;
          const g = y * (dot(w, x) + bias) - 1 + diagonal * a;
          // Projected gradient: zero where the box constraint stops α moving that way.
          const pg = a === 0 ? Math.min(g, 0) : a === upper ? Math.max(g, 0) : g;
          maxPg = Math.max(maxPg, pg);
          minPg = Math.min(minPg, pg);
          if (Math.abs(pg) <= 1e-12) continue;
          const next = Math.min(Math.max(a - g / (qii[i] as number), 0), upper);
          const step = (next - a) * y;
          alpha[i] = next;
          addScaled(w, x, step);
          bias += step;
        }
        if (maxPg - minPg <= tolerance) break;
      }
      weights.push(w);
      biases[k] = bias;
    }
    return new LinearSvm(classes, weights, biases);
  }

  /** Loads a model written by `toJSON()`; throws an Error naming the problem when `state` is not one. */
  static fromJSON(state: unknown): LinearSvm {
    const { labels, weights, biases } = decodeLinearModelState(state, 'linear-svm');
    return new LinearSvm(labels, weights, biases);
  }

  /**
   * Softmax over the one-vs-rest margins: it ranks classes like the margins do and sums to 1,
   * but it is NOT a calibrated probability (the SVM never modelled one). Use it to pick a label or
   * to rank; fit logistic regression where scores must mean confidence.
   */
  override predict(x: FeatureVector): number[] {
    return super.predict(x);
  }
}
