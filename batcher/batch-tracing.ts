import { activeContext, type Context, contextWith, endSpan, isSampled, linkTo, rootContext, type Span, SpanKind, startSpan } from '../core/tracing.js';

/**
 * A queued request's place in its trace: the context it was submitted in (its HTTP request or
 * job span) and its `queue wait` span, which runs from submission until a batch takes the request
 * (or it leaves the window, cancelled), so the span's start and end are the measured wait.
 */
export class RequestTrace {
  /** The context the request was submitted in. */
  readonly context: Context;
  readonly #wait: Span;
  #waiting = true;

  constructor(texts: number) {
    this.context = activeContext();
    this.#wait = startSpan('queue wait', { kind: SpanKind.INTERNAL, attributes: { 'capserve.texts': texts } }, this.context);
  }

  /** A batch took the request: the wait ends, and links to the batch that serves it. */
  taken(batchId: number, batch: Span): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.#wait.setAttribute('capserve.batch.id', batchId);
    this.#wait.addLink({ context: batch.spanContext() });
    endSpan(this.#wait);
  }

  /** The request settled; if no batch had taken it, it was cancelled (or passed its deadline) in the window. */
  left(error?: unknown): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    endSpan(this.#wait, error);
  }
}

/** A running batch's span, and the context its capability spans start under. */
export interface BatchTrace {
  readonly span: Span;
  readonly context: Context;
}

/**
 * Starts a batch's span and ends the `queue wait` of each request it takes. A batch serves
 * several requests, each in its own trace, so the span links to every one of them (and each
 * request's wait links back to it). It is a child of the first sampled request (so it shows in
 * that request's trace, and is recorded when the requests are), else of the first request with a
 * span (unsampled: the batch is not recorded either), else a trace of its own (requests submitted
 * outside any span).
 */
export function startBatchSpan(batchId: number, requests: readonly RequestTrace[]): BatchTrace {
  const links = requests.flatMap((request) => linkTo(request.context) ?? []);
  const traced = requests.filter((request) => linkTo(request.context) !== undefined);
  const parent = (traced.find((request) => isSampled(request.context)) ?? traced[0])?.context ?? rootContext;
  const span = startSpan('batch', { links, attributes: { 'capserve.batch.id': batchId, 'capserve.batch.requests': requests.length } }, parent);
  for (const request of requests) request.taken(batchId, span);
  return { span, context: contextWith(span, parent) };
}
