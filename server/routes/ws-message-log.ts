import { type FastifyBaseLogger } from 'fastify';
import { isWellFormedRequestId } from '../request-id.js';
import { roundMs } from '../request-log.js';

/** What one WebSocket message came to, for its log line. */
export interface WsMessageOutcome {
  /** The client's `id`, as sent; logged only when it is a number or a well-formed id. */
  readonly id?: unknown;
  readonly type: string;
  /** The registry code of the error it was answered with. */
  readonly code?: string;
  readonly capabilities?: readonly string[];
  readonly batchIds?: readonly number[];
  readonly jobId?: string;
}

/** The client's message id when it may be written to logs and spans (a number or a well-formed id); else undefined, never the raw value. */
export function loggableMessageId(id: unknown): string | number | undefined {
  return typeof id === 'number' || isWellFormedRequestId(id) ? id : undefined;
}

/**
 * One `info` line per finished WebSocket message, `websocket message`, on the connection's
 * logger: its `reqId` is the upgrade request's, `messageId` the client's id for the message. A
 * message id that could not be a request id (control characters, spaces, over 128 characters)
 * is left out rather than written raw.
 */
export function logWsMessage(log: FastifyBaseLogger, started: number, outcome: WsMessageOutcome): void {
  const { id, type, code, capabilities, batchIds, jobId } = outcome;
  const messageId = loggableMessageId(id);
  log.info(
    {
      ...(messageId === undefined ? {} : { messageId }),
      type,
      ...(code === undefined ? {} : { code }),
      ...(capabilities === undefined ? {} : { capabilities }),
      ...(batchIds === undefined ? {} : { batchIds }),
      ...(jobId === undefined ? {} : { jobId }),
      durationMs: roundMs(performance.now() - started),
    },
    'websocket message',
  );
}
