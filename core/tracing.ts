import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';

/*
 * The spans every layer makes, over the OpenTelemetry API only: the SDK (a provider, an
 * exporter) is installed by server/tracing.ts, or not at all. Without one, every call below is
 * the API's no-op: a span that records nothing and a context that carries nothing.
 */

export { SpanKind, type Context, type Span };

/** The instrumentation scope of every capserve span. */
export const tracerName = 'capserve';

/**
 * The tracer, asked for at each use: a provider installed (or shut down) after a module loaded
 * is then still the one used.
 */
export function tracer(): Tracer {
  return trace.getTracer(tracerName);
}

/** Starts a span under `parent` (the active context when absent); the caller ends it. */
export function startSpan(
  name: string,
  options: { readonly attributes?: Attributes; readonly kind?: SpanKind; readonly links?: readonly Link[] } = {},
  parent: Context = context.active(),
): Span {
  return tracer().startSpan(
    name,
    {
      ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
      ...(options.kind === undefined ? {} : { kind: options.kind }),
      ...(options.links === undefined ? {} : { links: [...options.links] }),
    },
    parent,
  );
}

/**
 * Ends a span: with an error status when `error` is given (its code, if it has one, as the
 * status message and `capserve.error.code`; never its message, which may quote client input).
 */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    const code = errorCode(error);
    span.setAttribute('capserve.error.code', code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  }
  span.end();
}

/**
 * Runs `work` with `span` active (so the spans it starts are its children) and ends the span
 * when the work settles, with an error status if it throws.
 */
export async function inSpan<T>(span: Span, work: () => Promise<T>, parent: Context = context.active()): Promise<T> {
  try {
    const result = await context.with(trace.setSpan(parent, span), work);
    endSpan(span);
    return result;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

/** Runs `work` with `parent` as the active context. */
export function withContext<T>(parent: Context, work: () => T): T {
  return context.with(parent, work);
}

/** The context `span` is active in, under `parent`. */
export function contextWith(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

/** The active context: what a span started now would be a child of. */
export function activeContext(): Context {
  return context.active();
}

/** A link to the span active in `parent`; undefined when there is none (tracing off, or no span). */
export function linkTo(parent: Context, attributes?: Attributes): Link | undefined {
  const spanContext = trace.getSpanContext(parent);
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  return attributes === undefined ? { context: spanContext } : { context: spanContext, attributes };
}

/** Whether the span active in `parent` is sampled (its trace is being recorded). */
export function isSampled(parent: Context): boolean {
  const spanContext = trace.getSpanContext(parent);
  return spanContext !== undefined && isSpanContextValid(spanContext) && (spanContext.traceFlags & 1) === 1;
}

/**
 * The W3C trace context of `parent` as headers (`traceparent`, and `tracestate` when set), for a
 * message that crosses a process (a queued job). Empty when tracing is off or there is no span.
 */
export function traceHeaders(parent: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(parent, carrier);
  const headers: Record<string, string> = {};
  if (carrier.traceparent !== undefined) headers.traceparent = carrier.traceparent;
  if (carrier.tracestate !== undefined) headers.tracestate = carrier.tracestate;
  return headers;
}

/**
 * The context that {@link traceHeaders} carried; the root context when they are absent or
 * malformed (a new trace starts). Reads only string `traceparent` and `tracestate`, so a carrier
 * from outside (a job payload read back from Redis) may be anything.
 */
export function contextFromHeaders(headers: unknown): Context {
  if (typeof headers !== 'object' || headers === null) return ROOT_CONTEXT;
  const carrier: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate'] as const) {
    const value: unknown = (headers as Record<string, unknown>)[key];
    if (typeof value === 'string') carrier[key] = value;
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** The root context: a span started under it begins a trace of its own. */
export const rootContext: Context = ROOT_CONTEXT;

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return 'INTERNAL_ERROR';
}
