import { type Context, context, isSpanContextValid, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import { type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteHandlerMethod } from 'fastify';
import { tracer } from '../core/tracing.js';
import { answeredErrorCode } from './answered-error.js';

/** Each request's server span and the context its handler runs in. */
const spans = new WeakMap<FastifyRequest, { readonly span: Span; readonly context: Context }>();

/**
 * One `HTTP <method> <route>` server span per request, continuing the caller's trace when it
 * sends a W3C `traceparent` (a malformed one is ignored: a new trace starts, and the header is
 * never logged), and naming the span in a `traceparent` response header. The route handler runs
 * with the span active, so what it calls (admission, the queued request, a job) is its child.
 *
 * Register before any route: handlers are wrapped as routes are added. With no tracer provider
 * installed every span is the API's no-op and no header is sent.
 */
export function registerHttpTracing(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    const span = tracer().startSpan(
      route === undefined ? `HTTP ${request.method}` : `HTTP ${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          [ATTR_URL_PATH]: pathOf(request.url),
          'capserve.request.id': request.id,
          ...(route === undefined ? {} : { [ATTR_HTTP_ROUTE]: route }),
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    spans.set(request, { span, context: active });
    const { traceId, spanId, traceFlags } = span.spanContext();
    if (isSpanContextValid(span.spanContext())) reply.header('traceparent', `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`);
    context.with(active, done);
  });

  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function traced(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const traced = spans.get(request);
      if (traced === undefined) return handler.call(this, request, reply);
      return context.with(traced.context, () => handler.call(this, request, reply));
    } as RouteHandlerMethod;
  });

  app.addHook('onResponse', async (request, reply) => finish(request, reply.statusCode, answeredErrorCode(reply)));
  app.addHook('onRequestAbort', async (request) => finish(request, undefined));
}

/**
 * Ends an upgraded WebSocket request's span with 101 and returns the context it was active in
 * (to link the connection's messages to it); undefined when the request was not traced. An
 * upgrade has no HTTP response, so no `onResponse` ends its span: the WebSocket handler calls
 * this once, as the connection opens (@fastify/websocket hijacks the reply and calls that
 * handler from its own wrapper, with the socket first, so the wrapper above cannot tell).
 */
export function endUpgradeSpan(request: FastifyRequest): Context | undefined {
  const traced = spans.get(request);
  if (traced === undefined) return undefined;
  finish(request, 101);
  return traced.context;
}

/** Ends a request's span: the status and error code, an error status for 5xx, or aborted by the client (`status` undefined). */
function finish(request: FastifyRequest, status: number | undefined, code?: string): void {
  const traced = spans.get(request);
  if (traced === undefined) return;
  spans.delete(request);
  const { span } = traced;
  if (status === undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'client aborted' });
  } else {
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (code !== undefined) span.setAttribute('capserve.error.code', code);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** The path without the query string: a query may carry what a trace should not keep. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
