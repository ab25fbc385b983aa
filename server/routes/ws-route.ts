import { setMaxListeners } from 'node:events';
import { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { type WebSocket } from 'ws';
import { validationError } from '../../core/format-issues.js';
import { type BatchReply } from '../../batcher/types.js';
import { deadlineSignal } from '../deadline.js';
import { asCapserveError, CapserveError, isCapserveError, messageOf } from '../../core/errors.js';
import { type CapserveService } from '../../engine/service.js';
import { checkClassifyBody, type ClassifyLimits } from './classify-route.js';
import { classifyMessageSchema, wsMessagesPath } from './ws-messages.js';
import { access, errorResponses } from '../openapi/error-responses.js';
import { identityOf } from '../authenticate.js';
import { ownerFor } from '../job-owners.js';
import { replyError } from '../../batcher/reply-error.js';
import { roundMs } from '../request-log.js';
import { endUpgradeSpan } from '../http-tracing.js';
import { WsMessageTrace, type WsTracedConnection, wsTraceOrigin } from './ws-message-trace.js';


/**
 * Extra message types (jobs) handled by another module; returns false when it does not know the
 * type. It is called with the message's span active, and calls `trace.finish` once the message's
 * last reply was sent.
 */
export type WsMessageHandler = (message: Record<string, unknown>, socket: WsConnection, trace: WsMessageTrace) => boolean;

/** What the socket offers to handlers: a JSON send that is a no-op once closed, the close signal, and who owns its jobs. */
export interface WsConnection extends WsTracedConnection {
  send(payload: Record<string, unknown>): void;
  readonly signal: AbortSignal;
  /** The owner of the jobs this socket creates (`JobOwners`): its key's label, else the socket itself. */
  readonly owner: string;
  /** The upgrade request's logger: every line carries the connection's request id. */
  readonly log: FastifyBaseLogger;
  /** The upgrade request's id. */
  readonly requestId: string;
}

/**
 * `GET /ws`: many classify requests in flight on one socket, each capability's results
 * streamed as soon as the batch has them, then a `done`. Invalid messages get an `error`
 * and the socket stays open; closing the socket cancels everything it still waits for.
 */
export function registerWsRoute(
  app: FastifyInstance,
  service: CapserveService,
  limits: ClassifyLimits & { readonly wsMaxMessagesPerSecond?: number; readonly wsMaxBufferedBytes?: number },
  extra: WsMessageHandler[] = [],
): void {
  const perSecond = limits.wsMaxMessagesPerSecond ?? Number.POSITIVE_INFINITY;
  const maxBuffered = limits.wsMaxBufferedBytes ?? Number.POSITIVE_INFINITY;
  const schema = {
    operationId: 'openWebSocket',
    tags: ['websocket'],
    summary: 'A WebSocket: classify and process requests in flight on one socket, results streamed as they finish.',
    description: `Upgrade with \`GET /ws\`, then send JSON text frames. Every message type, both ways, is a JSON Schema at \`${wsMessagesPath}\` (ClientMessage, ServerMessage); see docs/api.md.`,
    response: errorResponses(...access),
  };
  app.get('/ws', { websocket: true, schema }, (socket: WebSocket, request) => {
    const origin = wsTraceOrigin(request.headers, endUpgradeSpan(request));
    const closed = new AbortController();
    // Each message in flight listens for the close (its deadline, its span): many at once is the
    // point of the socket, not a leak, so no warning past ten.
    setMaxListeners(0, closed.signal);
    const opened = performance.now();
    let messages = 0;
    socket.once('close', (code) => {
      closed.abort();
      // The upgrade never reaches fastify's onResponse: this is the connection's request line.
      request.log.info({ route: '/ws', closeCode: code, messages, durationMs: roundMs(performance.now() - opened) }, 'websocket closed');
    });
    const connection: WsConnection = {
      signal: closed.signal,
      log: request.log,
      requestId: request.id,
      origin,
      owner: ownerFor(identityOf(request)?.label, 'socket') ?? '',
      send(payload) {
        if (socket.readyState !== socket.OPEN) return;
        socket.send(JSON.stringify(payload));
        // A client that sends but never reads would make the server hold every answer for it.
        // Past the cap: close with a code (queued behind what is buffered, for a client that
        // reads again), send nothing more, and cancel what the socket still waits for; ws
        // destroys the connection if the close handshake does not finish within 30 s.
        if (socket.bufferedAmount > maxBuffered) {
          request.log.warn({ bufferedBytes: socket.bufferedAmount, limit: maxBuffered }, 'websocket closed: the client does not read its messages');
          socket.close(1008, `send buffer over WS_MAX_BUFFERED_BYTES (${maxBuffered}): read your messages`);
          closed.abort();
        }
      },
    };
    const fail = (error: unknown, id?: unknown): void => {
      const coded = asCapserveError(error);
      if (!isCapserveError(error)) request.log.error({ err: error }, 'websocket message failed');
      service.metrics.errorAnswered(coded.code, '/ws');
      connection.send({ ...(id === undefined ? {} : { id }), type: 'error', ...coded.toBody().error });
    };

    // A fixed one-second window per socket: cheap, and enough to stop one client flooding the batcher.
    let windowStart = 0;
    let inWindow = 0;
    socket.on('message', (data, isBinary) => {
      messages += 1;
      const started = performance.now();
      const refuse = (error: CapserveError, id?: unknown, trace = new WsMessageTrace(connection, started)): void => {
        fail(error, id);
        trace.finish({ id, type: 'unknown', code: error.code });
      };
      const now = Date.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        inWindow = 0;
      }
      inWindow += 1;
      if (inWindow > perSecond) {
        refuse(new CapserveError('RATE_LIMITED', `more than ${perSecond} messages in one second on this socket`, { details: { retryAfterSeconds: 1 } }));
        return;
      }
      let message: unknown;
      try {
        if (isBinary) throw new Error('binary frames are not accepted');
        message = JSON.parse(data.toString());
      } catch (error) {
        refuse(new CapserveError('VALIDATION_ERROR', `message is not JSON text: ${messageOf(error)}`));
        return;
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message)) {
        refuse(new CapserveError('VALIDATION_ERROR', 'a message is a JSON object'));
        return;
      }
      const record = message as Record<string, unknown>;
      const trace = new WsMessageTrace(connection, started, record);
      if (record.type !== undefined && record.type !== 'classify') {
        if (!trace.run(() => extra.some((handle) => handle(record, connection, trace)))) {
          refuse(new CapserveError('VALIDATION_ERROR', `unknown message type ${JSON.stringify(record.type)}`), record.id, trace);
        }
        return;
      }
      void trace.run(() => classify(record)).then(
        (outcome) => trace.finish({ id: record.id, type: 'classify', ...outcome }),
        (error: unknown) => {
          fail(error, record.id);
          const capabilities = classifyMessageSchema.shape.capabilities.safeParse(record.capabilities);
          trace.finish({
            id: record.id,
            type: 'classify',
            code: asCapserveError(error).code,
            ...(capabilities.success ? { capabilities: capabilities.data } : {}),
          });
        },
      );
    });

    const classify = async (raw: Record<string, unknown>): Promise<{ capabilities: string[]; batchIds: number[]; code?: string }> => {
      const parsed = classifyMessageSchema.safeParse(raw);
      if (!parsed.success) {
        throw validationError('message', parsed.error.issues);
      }
      const { id, traceparent: _traceparent, tracestate: _tracestate, ...body } = parsed.data;
      checkClassifyBody(body, limits);
      const started = performance.now();
      const deadline = deadlineSignal(body.timeoutMs ?? limits.requestTimeoutMs, closed.signal);
      let answer: BatchReply;
      try {
        answer = await service.analyse({
          texts: body.texts,
          capabilities: body.capabilities,
          signal: deadline.signal,
          ...(body.priority === undefined ? {} : { priority: body.priority }),
          onResult: (event) => connection.send({ id, type: 'result', ...event }),
        });
      } finally {
        deadline.clear();
      }
      for (const failure of answer.failures) connection.send({ id, type: 'error', ...failure });
      connection.send({
        id,
        type: 'done',
        timingMs: Math.round((performance.now() - started) * 1000) / 1000,
        batch: answer.batch,
        failed: answer.failures.map((f) => f.capability),
      });
      const code = replyError(answer)?.code;
      return { capabilities: body.capabilities, batchIds: [answer.batch.id], ...(code === undefined ? {} : { code }) };
    };
  });
}
