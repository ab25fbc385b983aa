import { francAll } from 'franc-min';
import { type CapabilitySpec } from '../config-schema.js';
import { round } from '../math/vectors.js';
import { type Capability } from '../types.js';

type Spec = Extract<CapabilitySpec, { kind: 'language-id' }>;

export interface LanguageResult {
  /** ISO 639-3 code, or "und" when the text is too short or unclear. */
  readonly language: string;
  /** franc's score margin of the best language over the runner-up, 0 to 1. */
  readonly confidence: number;
}

/** Language identification by trigram profiles (franc-min, 82 languages). */
export function languageIdCapability(spec: Spec): Capability<LanguageResult> {
  const options = { minLength: spec.params.minLength, ...(spec.params.only ? { only: spec.params.only } : {}) };
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts) {
      return texts.map((text) => {
        const [best, second] = francAll(text, options);
        const language = best?.[0] ?? 'und';
        const confidence = language === 'und' ? 0 : (best?.[1] ?? 0) - (second?.[1] ?? 0);
        return { language, confidence: round(confidence, 4) };
      });
    },
  };
}
