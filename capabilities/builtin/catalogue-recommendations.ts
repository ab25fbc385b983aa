import { type CapabilitySpec } from '../config-schema.js';
import { cosine, round } from '../math/vectors.js';
import { type Capability, dependencyResults } from '../types.js';
import { asLabelScores, inputFrom } from './build-deps.js';

type Spec = Extract<CapabilitySpec, { kind: 'catalogue-recommendations' }>;

export interface RecommendationsResult {
  readonly items: readonly { id: string; title: string; score: number }[];
}

/**
 * The catalogue items nearest to a text in topic space (cosine of the text's topic scores and
 * the item's topic weights), with items whose tone does not match the text's sentiment halved.
 */
export function catalogueRecommendationsCapability(spec: Spec): Capability<RecommendationsResult> {
  const topicsFrom = inputFrom(spec.params.topicsFrom, spec.dependsOn, spec.name);
  const sentimentFrom = inputFrom(spec.params.sentimentFrom ?? spec.dependsOn[1], spec.dependsOn, spec.name);
  const items = spec.params.items;
  const labels = [...new Set(items.flatMap((item) => Object.keys(item.topics)))];
  const itemVectors = items.map((item) => labels.map((label) => item.topics[label] ?? 0));
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts, context) {
      const topics = dependencyResults<{ scores?: Record<string, number> }>(context, topicsFrom);
      const sentiments = dependencyResults(context, sentimentFrom);
      return texts.map((_, i) => {
        const scores = topics[i]?.scores ?? {};
        const textVector = labels.map((label) => scores[label] ?? 0);
        const tone = asLabelScores(sentiments[i], sentimentFrom).label;
        const ranked = items
          .map((item, k) => {
            const fit = item.tone === 'any' || item.tone === tone ? 1 : 0.5;
            return { id: item.id, title: item.title, score: round(cosine(textVector, itemVectors[k] ?? []) * fit) };
          })
          .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
        return { items: ranked.slice(0, spec.params.topK) };
      });
    },
  };
}
