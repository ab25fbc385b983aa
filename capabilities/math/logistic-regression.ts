import { softmax, type Vector } from './vectors.js';

export interface LogisticRegressionOptions {
  readonly epochs: number;
  /** L2 penalty on the weights (not the biases). */
  readonly l2: number;
  /** @default 2 (features here are unit-length embeddings) */
  readonly learningRate?: number;
}

/**
 * Multinomial logistic regression fitted by full-batch gradient descent. The training sets here
 * are tens to thousands of examples of a few hundred dimensions, where this converges in
 * milliseconds and needs no dependency.
 */
export class LogisticRegression {
  readonly labels: readonly string[];
  readonly #weights: Float64Array[];
  readonly #biases: Float64Array;

  private constructor(labels: readonly string[], weights: Float64Array[], biases: Float64Array) {
    this.labels = labels;
    this.#weights = weights;
    this.#biases = biases;
  }

  static fit(features: readonly Vector[], labels: readonly string[], options: LogisticRegressionOptions): LogisticRegression {
    if (features.length === 0 || features.length !== labels.length) {
      throw new Error(`need as many labels as examples (got ${features.length} examples, ${labels.length} labels)`);
    }
    const classes = [...new Set(labels)].sort();
    if (classes.length < 2) throw new Error('need at least two classes to fit a classifier');
    const dimensions = features[0]?.length ?? 0;
    const weights = classes.map(() => new Float64Array(dimensions));
    const biases = new Float64Array(classes.length);
    const targets = labels.map((label) => classes.indexOf(label));
    const rate = options.learningRate ?? 2;
    const n = features.length;
    for (let epoch = 0; epoch < options.epochs; epoch += 1) {
      const gradW = classes.map(() => new Float64Array(dimensions));
      const gradB = new Float64Array(classes.length);
      features.forEach((x, i) => {
        const p = softmax(weights.map((w, c) => linear(w, biases[c] ?? 0, x)));
        p.forEach((pc, c) => {
          const error = pc - (targets[i] === c ? 1 : 0);
          const g = gradW[c] as Float64Array;
          for (let d = 0; d < dimensions; d += 1) g[d] = (g[d] ?? 0) + error * (x[d] ?? 0);
          gradB[c] = (gradB[c] ?? 0) + error;
        });
      });
      weights.forEach((w, c) => {
        const g = gradW[c] as Float64Array;
        for (let d = 0; d < dimensions; d += 1) w[d] = (w[d] ?? 0) - rate * ((g[d] ?? 0) / n + options.l2 * (w[d] ?? 0));
        biases[c] = (biases[c] ?? 0) - (rate * (gradB[c] ?? 0)) / n;
      });
    }
    return new LogisticRegression(classes, weights, biases);
  }

  /** Class probabilities in `labels` order. */
  predict(x: Vector): number[] {
    return softmax(this.#weights.map((w, c) => linear(w, this.#biases[c] ?? 0, x)));
  }
}

function linear(w: Float64Array, bias: number, x: Vector): number {
  let sum = bias;
  for (let d = 0; d < w.length; d += 1) sum += (w[d] ?? 0) * (x[d] ?? 0);
  return sum;
}
