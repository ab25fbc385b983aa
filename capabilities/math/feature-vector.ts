/**
 * The two shapes of classifier input: dense embeddings (a few hundred dimensions, all set) and
 * sparse hashed text features (2^18 dimensions, a few dozen set). The linear models only ever
 * need a dot product with a weight row and a scaled add into one, so both shapes share those two
 * operations and the models never branch on the shape themselves.
 */

/** A dense vector: every coordinate stored. The same shapes as `Vector` in vectors.ts accepts. */
export type DenseVector = readonly number[] | Float32Array | Float64Array;

/** A sparse vector: only the non-zero coordinates, `indices` sorted ascending and unique. */
export interface SparseVector {
  readonly dimensions: number;
  readonly indices: Int32Array | readonly number[];
  readonly values: Float32Array | Float64Array | readonly number[];
}

export type FeatureVector = DenseVector | SparseVector;

export function isSparse(x: FeatureVector): x is SparseVector {
  return 'indices' in x;
}

export function dimensionsOf(x: FeatureVector): number {
  return isSparse(x) ? x.dimensions : x.length;
}

/** `weights · x`, reading only the stored coordinates of a sparse `x`. */
export function dot(weights: Float64Array, x: FeatureVector): number {
  let sum = 0;
  if (isSparse(x)) {
    const { indices, values } = x;
    for (let k = 0; k < indices.length; k += 1) sum += (weights[indices[k] ?? 0] ?? 0) * (values[k] ?? 0);
  } else {
    for (let i = 0; i < x.length; i += 1) sum += (weights[i] ?? 0) * (x[i] ?? 0);
  }
  return sum;
}

/** `weights += scale * x` in place, touching only the stored coordinates of a sparse `x`. */
export function addScaled(weights: Float64Array, x: FeatureVector, scale: number): void {
  if (isSparse(x)) {
    const { indices, values } = x;
    for (let k = 0; k < indices.length; k += 1) {
      const i = indices[k] ?? 0;
      weights[i] = (weights[i] ?? 0) + scale * (values[k] ?? 0);
    }
  } else {
    for (let i = 0; i < x.length; i += 1) weights[i] = (weights[i] ?? 0) + scale * (x[i] ?? 0);
  }
}

/** `x · x`. */
export function squaredNorm(x: FeatureVector): number {
  const values = isSparse(x) ? x.values : x;
  let sum = 0;
  for (let k = 0; k < values.length; k += 1) sum += (values[k] ?? 0) ** 2;
  return sum;
}

/**
 * Checks that every vector has `dimensions` coordinates and that sparse ones are well formed
 * (indices in range, strictly increasing, one value each), and that every stored value is finite.
 * Done once before fitting: a malformed vector would otherwise write outside the weights
 * silently or turn them into NaN. Throws an Error naming the first bad example.
 */
export function checkFeatureVectors(features: readonly FeatureVector[], dimensions: number): void {
  features.forEach((x, n) => {
    const fail = (problem: string): never => {
      throw new Error(`example ${n}: ${problem}`);
    };
    if (dimensionsOf(x) !== dimensions) fail(`has ${dimensionsOf(x)} dimensions, expected ${dimensions}`);
    const values = isSparse(x) ? x.values : x;
    if (isSparse(x)) {
      if (x.indices.length !== x.values.length) fail(`${x.indices.length} indices but ${x.values.length} values`);
      let previous = -1;
      for (const i of x.indices) {
        if (!Number.isInteger(i) || i <= previous || i >= dimensions) fail(`index ${i} is out of range or out of order`);
        previous = i;
      }
    }
    for (const v of values) if (!Number.isFinite(v)) fail(`value ${v} is not a finite number`);
  });
}
