import { type CapabilitySpec } from '../config-schema.js';
import { type Capability, dependencyResults } from '../types.js';
import { asLabelScores, inputFrom } from './build-deps.js';

type Spec = Extract<CapabilitySpec, { kind: 'alert-rules' }>;

export interface Alert {
  readonly rule: 'negative-sentiment' | 'keyword';
  readonly severity: 'low' | 'medium' | 'high';
  readonly message: string;
}

export interface AlertsResult {
  readonly triggered: boolean;
  readonly alerts: readonly Alert[];
}

/** Alerts from rules over the text and its sentiment: strongly negative texts and configured keywords. */
export function alertRulesCapability(spec: Spec): Capability<AlertsResult> {
  const source = inputFrom(spec.params.sentimentFrom, spec.dependsOn, spec.name);
  const { negativeLabel, threshold } = spec.params;
  const keywords = spec.params.keywords.map((k) => ({ ...k, pattern: wordPattern(k.term) }));
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts, context) {
      const sentiments = dependencyResults(context, source);
      return texts.map((text, i) => {
        const alerts: Alert[] = [];
        const probability = asLabelScores(sentiments[i], source).scores[negativeLabel] ?? 0;
        if (probability >= threshold) {
          alerts.push({
            rule: 'negative-sentiment',
            severity: probability >= (1 + threshold) / 2 ? 'high' : 'medium',
            message: `${negativeLabel} sentiment ${probability.toFixed(2)} ≥ ${threshold}`,
          });
        }
        for (const keyword of keywords) {
          if (keyword.pattern.test(text)) {
            alerts.push({ rule: 'keyword', severity: keyword.severity, message: `mentions "${keyword.term}"` });
          }
        }
        return { triggered: alerts.length > 0, alerts };
      });
    },
  };
}

/** Case-insensitive match of a term on word boundaries, with the term's own characters escaped. */
function wordPattern(term: string): RegExp {
  const escaped = term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'iu');
}
