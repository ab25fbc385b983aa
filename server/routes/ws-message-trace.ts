import { type Attributes, type Link, SpanStatusCode } from '@opentelemetry/api';
import { type FastifyBaseLogger } from 'fastify';
import { type Context, contextFromHeaders, contextWith, endSpan, linkTo, type Span, SpanKind, tracer, withContext } from '../../core/tracing.js';
import { isWellFormedRequestId } from '../request-id.js';
import { loggableMessageId, logWsMessage, type WsMessageOutcome } from './ws-message-log.js';
import { clientMessageTypes, type ClientMessageType } from './ws-messages.js';

/** Where a connection's message spans start, from its upgrade request. */
export interface WsTraceOrigin {
  /** What the upgrade's `traceparent` header names; the root context without one (or with a malformed one). */
  readonly caller: Context;
  /** A link to the upgrade's `HTTP GET /ws` span (ended at 101); undefined when it was not traced. */
  readonly upgrade: Link | undefined;
}

/** What a message's trace needs of its connection (`WsConnection` has it all). */
export interface WsTracedConnection {
  readonly log: FastifyBaseLogger;
  /** The upgrade request's id. */
  readonly requestId: string;
  /** Aborted when the socket closes. */
  readonly signal: AbortSignal;
  readonly origin: WsTraceOrigin;
}

/** The origin of a connection's message spans: the upgrade's caller context, and a link to its span. */
export function wsTraceOrigin(headers: unknown, upgrade: Context | undefined): WsTraceOrigin {
  return { caller: contextFromHeaders(headers), upgrade: upgrade === undefined ? undefined : linkTo(upgrade) };
}

/**
 * One WebSocket message's `WS <type>` server span and its log line. The span is a child of the
 * message's own `traceparent` when it has a valid one, else of the upgrade's `traceparent`
 * (so a client that traced the upgrade sees every message in its trace), else the root of a trace
 * of its own; it always links to the upgrade's span. Not a child of the upgrade span itself: a
 * connection may live for hours, and a trace that grows for as long is one no backend shows.
 *
 * The work runs with the span active ({@link run}), so its admission, queue waits, batches and
 * queued jobs are its children. It ends when the message's last reply was sent ({@link finish},
 * with the code it was answered with), or when the connection closes first (error status,
 * event `connection closed`); the log line is written at {@link finish} either way.
 */
export class WsMessageTrace {
  /** The context the message's work runs in: its span active. */
  readonly context: Context;
  readonly #span: Span;
  readonly #connection: WsTracedConnection;
  readonly #started: number;
  #ended = false;
  readonly #closed = (): void => {
    if (this.#ended) return;
    this.#ended = true;
    this.#span.addEvent('connection closed');
    this.#span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed' });
    this.#span.end();
  };

  /**
   * @param started `performance.now()` when the message arrived: the span starts there.
   * @param message The parsed message; absent when it was refused before it could be read.
   */
  constructor(connection: WsTracedConnection, started: number, message?: Record<string, unknown>) {
    this.#connection = connection;
    this.#started = started;
    const type = typeOf(message);
    const own = message === undefined ? undefined : ownContext(message);
    const parent = own ?? connection.origin.caller;
    const { upgrade } = connection.origin;
    this.#span = tracer().startSpan(
      `WS ${type}`,
      { kind: SpanKind.SERVER, startTime: started, attributes: startAttributes(connection.requestId, type, message), ...(upgrade === undefined ? {} : { links: [upgrade] }) },
      parent,
    );
    this.context = contextWith(this.#span, parent);
    if (connection.signal.aborted) this.#closed();
    else connection.signal.addEventListener('abort', this.#closed, { once: true });
  }

  /** Runs `work` with the message's span active. */
  run<T>(work: () => T): T {
    return withContext(this.context, work);
  }

  /** The message is answered: its log line, and its span ends with what it came to (unless the connection closed first). */
  finish(outcome: WsMessageOutcome): void {
    logWsMessage(this.#connection.log, this.#started, outcome);
    if (this.#ended) return;
    this.#ended = true;
    this.#connection.signal.removeEventListener('abort', this.#closed);
    const { capabilities, batchIds, jobId, code } = outcome;
    if (capabilities !== undefined) this.#span.setAttribute('capserve.capabilities', [...capabilities]);
    if (batchIds !== undefined) this.#span.setAttribute('capserve.batch.ids', [...batchIds]);
    if (jobId !== undefined && isWellFormedRequestId(jobId)) this.#span.setAttribute('capserve.job.id', jobId);
    endSpan(this.#span, code === undefined ? undefined : { code });
  }
}

/** The message's type for the span's name: one of the protocol's, else `unknown` (never what the client wrote). */
function typeOf(message: Record<string, unknown> | undefined): ClientMessageType | 'unknown' {
  if (message === undefined) return 'unknown';
  if (message.type === undefined) return 'classify';
  return clientMessageTypes.find((type) => type === message.type) ?? 'unknown';
}

/** The message's own `traceparent`, when it is a string the W3C propagator accepts. */
function ownContext(message: Record<string, unknown>): Context | undefined {
  if (typeof message.traceparent !== 'string') return undefined;
  const own = contextFromHeaders({ traceparent: message.traceparent, tracestate: message.tracestate });
  return linkTo(own) === undefined ? undefined : own;
}

/** What is known as the message arrives: only well-formed ids and counts, never texts. */
function startAttributes(requestId: string, type: string, message: Record<string, unknown> | undefined): Attributes {
  const id = loggableMessageId(message?.id);
  const texts = Array.isArray(message?.texts) ? message.texts.length : typeof message?.text === 'string' ? 1 : undefined;
  return {
    'capserve.request.id': requestId,
    'capserve.ws.message.type': type,
    ...(id === undefined ? {} : { 'capserve.ws.message.id': id }),
    ...(texts === undefined ? {} : { 'capserve.texts': texts }),
  };
}
