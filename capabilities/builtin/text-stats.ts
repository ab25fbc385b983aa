import { estimateTokens } from '../../core/estimate-tokens.js';
import { type CapabilitySpec } from '../config-schema.js';
import { type Capability } from '../types.js';

type Spec = Extract<CapabilitySpec, { kind: 'text-stats' }>;

export interface TextStats {
  readonly characters: number;
  readonly words: number;
  /** The same cheap estimate the batcher's token budget uses. */
  readonly estimatedTokens: number;
}

/**
 * Length facts about each text, with no model: useful on its own (e.g. to route or bill), and,
 * costing next to nothing, the capability that measures the server's own overhead per request.
 */
export function textStatsCapability(spec: Spec): Capability<TextStats> {
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts) {
      return texts.map((text) => ({
        characters: [...text].length,
        words: text.split(/\s+/).filter(Boolean).length,
        estimatedTokens: estimateTokens(text),
      }));
    },
  };
}
