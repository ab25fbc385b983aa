import { type ReviewRule } from '../capabilities/review-rule.js';

/**
 * Why a result should go to review under `rule`, or undefined when it should not. Results
 * are read by shape: `{ label, score }` for classifiers, `{ triggered }` or `{ alerts: [...] }`
 * for alerts; a result of another shape never matches a condition about that shape.
 */
export function reviewReason(rule: ReviewRule, result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const fields = result as { label?: unknown; score?: unknown; triggered?: unknown; fired?: unknown; alerts?: unknown };
  if (rule.whenFired === true) {
    const fired = fields.triggered === true || fields.fired === true || (Array.isArray(fields.alerts) && fields.alerts.length > 0);
    if (fired) return 'an alert fired';
  }
  if (rule.confidenceBelow !== undefined && typeof fields.score === 'number' && fields.score < rule.confidenceBelow) {
    return `confidence ${fields.score} below ${rule.confidenceBelow}`;
  }
  if (rule.labels !== undefined && typeof fields.label === 'string' && rule.labels.includes(fields.label)) {
    return `label "${fields.label}" is always reviewed`;
  }
  return undefined;
}
