import { activeContext, contextFromHeaders, type Context, type Span, SpanKind, startSpan, traceHeaders } from '../core/tracing.js';
import { type JobPayload, type QueueName } from './types.js';

/** The payload field that carries the submitting request's trace context (see {@link JobPayload}); empty when there is none. */
export function jobTraceField(parent: Context = activeContext()): Pick<JobPayload, 'trace'> {
  const { traceparent, tracestate } = traceHeaders(parent);
  if (traceparent === undefined) return {};
  return { trace: tracestate === undefined ? { traceparent } : { traceparent, tracestate } };
}

/**
 * The `job <queue>` span of one run of a queued job, in whatever process runs it: a consumer
 * span continuing the trace its payload carries (a payload from Redis is not validated, so
 * anything but strings there is ignored, and a malformed traceparent starts a new trace).
 */
export function startJobSpan(queue: QueueName, payload: JobPayload, jobId: string): { readonly span: Span; readonly parent: Context } {
  const parent = contextFromHeaders(payload.trace);
  const span = startSpan(
    `job ${queue}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: { 'capserve.job.id': jobId, 'capserve.job.queue': queue, 'capserve.job.kind': payload.kind, 'capserve.capabilities': [...payload.capabilities] },
    },
    parent,
  );
  return { span, parent };
}
