import { type CapabilitySpec } from '../config-schema.js';
import { cosine, round, softmax } from '../math/vectors.js';
import { type Capability, dependencyResults } from '../types.js';
import { asVector, type BuildDeps, inputFrom } from './build-deps.js';

type Spec = Extract<CapabilitySpec, { kind: 'zero-shot-topics' }>;

export interface TopicsResult {
  /** The best label. */
  readonly top: string;
  /** The `topK` best labels, best first; `score` is a softmax over all label similarities. */
  readonly labels: readonly { label: string; score: number; similarity: number }[];
  /** Every label's score, for dependents such as recommendations. */
  readonly scores: Record<string, number>;
}

/** Zero-shot topics: cosine similarity of the text's embedding to each embedded label description. */
export async function zeroShotTopicsCapability(spec: Spec, deps: BuildDeps): Promise<Capability<TopicsResult>> {
  const source = inputFrom(spec.params.embeddingFrom, spec.dependsOn, spec.name);
  const names = Object.keys(spec.params.labels);
  const described = await deps.runCapability(source, Object.values(spec.params.labels));
  const labelVectors = described.map((v) => asVector(v, source));
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts, context) {
      return dependencyResults(context, source).map((value) => {
        const vector = asVector(value, source);
        const similarities = labelVectors.map((label) => cosine(vector, label));
        const scores = softmax(similarities, spec.params.temperature);
        const ranked = names
          .map((label, i) => ({ label, score: round(scores[i] ?? 0), similarity: round(similarities[i] ?? 0) }))
          .sort((a, b) => b.score - a.score);
        return {
          top: ranked[0]?.label ?? '',
          labels: ranked.slice(0, spec.params.topK),
          scores: Object.fromEntries(ranked.map((r) => [r.label, r.score])),
        };
      });
    },
  };
}
