import { type CapabilitySpec } from '../config-schema.js';
import { round, softmax } from '../math/vectors.js';
import { type Capability } from '../types.js';
import { type BuildDeps, type LabelScores } from './build-deps.js';

type EmbeddingSpec = Extract<CapabilitySpec, { kind: 'embedding' }>;
type ClassifierSpec = Extract<CapabilitySpec, { kind: 'classifier' }>;

/**
 * A model's sentence vector, as a plain array. The context's signal goes to the pool, so an
 * execution no request waits for any more leaves the model's queue instead of computing.
 */
export function embeddingCapability(spec: EmbeddingSpec, deps: BuildDeps): Capability<number[]> {
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    model: spec.model,
    async run(texts, context) {
      const vectors = await deps.pool.run(spec.model, texts, { signal: context.signal });
      return vectors.map(toNumbers);
    },
  };
}

/**
 * The vector as a plain array for JSON (a Float32Array would serialise as an object), with the
 * same numbers as Array.from. An indexed push loop, because Array.from walks the typed array
 * through its iterator: about 3× slower for 64 × 384 floats, and the reply's JSON.stringify over
 * the result is not faster for it (a `new Array(n)` filled by index converts faster still, but
 * is holey, which JSON.stringify then walks more slowly).
 */
function toNumbers(vector: Float32Array): number[] {
  const numbers: number[] = [];
  for (let i = 0; i < vector.length; i++) numbers.push(vector[i] ?? 0);
  return numbers;
}

/** A classification model's softmax over its labels. */
export function classifierCapability(spec: ClassifierSpec, deps: BuildDeps): Capability<LabelScores> {
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    model: spec.model,
    async run(texts, context) {
      const logits = await deps.pool.run(spec.model, texts, { signal: context.signal });
      const info = deps.pool.info(spec.model);
      return logits.map((row) => {
        const labels = info?.labels ?? Array.from(row, (_, i) => `LABEL_${i}`);
        return labelScores(labels, softmax(Array.from(row)));
      });
    },
  };
}

/** `{ label, score, scores }` from probabilities in label order. */
export function labelScores(labels: readonly string[], probabilities: readonly number[]): LabelScores {
  let best = 0;
  probabilities.forEach((p, i) => {
    if (p > (probabilities[best] ?? -Infinity)) best = i;
  });
  return {
    label: labels[best] ?? `LABEL_${best}`,
    score: round(probabilities[best] ?? 0),
    scores: Object.fromEntries(labels.map((label, i) => [label, round(probabilities[i] ?? 0)])),
  };
}
