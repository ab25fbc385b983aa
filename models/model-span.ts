import { estimateTokens } from '../core/estimate-tokens.js';
import { type Span, SpanKind, startSpan } from '../core/tracing.js';
import { type ModelInfo } from './types.js';

/**
 * The `model <name>` span of one call into the pool, under the active context (the capability
 * execution that made it). It spans the call's wait behind other calls to its instance and the
 * model run (calls that queued together run merged, so a span may share its run with others).
 * Tokens are the cheap estimate, counted only when the span records.
 */
export function startModelSpan(model: string, info: ModelInfo, texts: readonly string[], queuedCalls: number): Span {
  const span = startSpan(`model ${model}`, {
    kind: SpanKind.INTERNAL,
    attributes: {
      'capserve.model': model,
      'capserve.model.backend': info.backend,
      'capserve.model.device': info.device,
      'capserve.model.batch_size': texts.length,
      'capserve.model.queued_calls': queuedCalls,
    },
  });
  if (span.isRecording()) span.setAttribute('capserve.model.estimated_tokens', texts.reduce((sum, text) => sum + estimateTokens(text), 0));
  return span;
}
