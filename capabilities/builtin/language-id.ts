import { type CapabilitySpec } from '../config-schema.js';
import { round } from '../math/vectors.js';
import { type Capability } from '../types.js';
import { toIso639_3 } from './iso639.js';

type Spec = Extract<CapabilitySpec, { kind: 'language-id' }>;

export interface LanguageResult {
  /** ISO 639-3 code, or "und" when the text is too short or unclear. */
  readonly language: string;
  /** How far the best language's score is ahead of the runner-up's, relative to it: 0 to 1. */
  readonly confidence: number;
}

type Eld = (typeof import('eld/medium'))['default'];
let detector: Promise<Eld> | undefined;

/**
 * eld's medium n-gram database (2 MB, about 0.4 s to load) is imported on the first batch,
 * not when the capabilities module is, so servers and tests that never ask for a language
 * do not pay for it. One instance serves every capability: detection keeps no state.
 */
function loadDetector(): Promise<Eld> {
  detector ??= import('eld/medium').then((module) => module.default);
  return detector;
}

/** Letters and digits: punctuation, spaces and symbols say nothing about the language. */
function meaningfulLength(text: string): number {
  return text.match(/[\p{L}\p{N}]/gu)?.length ?? 0;
}

const undetermined: LanguageResult = { language: 'und', confidence: 0 };

/**
 * Language identification with eld (n-gram detector, 60 languages, including Slovak, Danish,
 * Finnish and Ukrainian), answering ISO 639-3 codes. A text is "und" (undetermined) when it has
 * fewer than `minLength` letters or digits, when eld's own reliability check fails (too few
 * n-grams, a score under three quarters of the language's average, or a lead under 0.01 over
 * the runner-up), or when the confidence is under `minConfidence`.
 */
export function languageIdCapability(spec: Spec): Capability<LanguageResult> {
  const { minLength, minConfidence } = spec.params;
  const only = spec.params.only ? new Set(spec.params.only) : undefined;
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts) {
      const eld = await loadDetector();
      return texts.map((text): LanguageResult => {
        if (meaningfulLength(text) < minLength) return undetermined;
        const detected = eld.detect(text);
        if (detected.language === '' || !detected.isReliable()) return undetermined;
        const ranked = Object.entries(detected.getScores())
          .map(([code, score]) => [toIso639_3(code), score] as const)
          .filter(([code]) => code !== 'und' && (only === undefined || only.has(code)))
          .sort((a, b) => b[1] - a[1]);
        const [best, second] = ranked;
        if (best === undefined || best[1] <= 0) return undetermined;
        const confidence = round((best[1] - (second?.[1] ?? 0)) / best[1], 4);
        return confidence < minConfidence ? undetermined : { language: best[0], confidence };
      });
    },
  };
}
