import { type FastifyReply } from 'fastify';
import { deadlineSignal } from './deadline.js';

/**
 * The signal a route hands the batcher: it aborts when the client goes away before its answer
 * is written (its pending work leaves with it) or when `timeoutMs` passes (DEADLINE_EXCEEDED).
 * `clear` stops the timer and the listener once the work has settled.
 */
export function requestSignal(reply: FastifyReply, timeoutMs: number): { readonly signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort();
  };
  reply.raw.once('close', onClose);
  const deadline = deadlineSignal(timeoutMs, controller.signal);
  return {
    signal: deadline.signal,
    clear: () => {
      deadline.clear();
      reply.raw.off('close', onClose);
    },
  };
}
