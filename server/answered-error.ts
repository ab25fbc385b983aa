import { type FastifyReply } from 'fastify';

/** The registry code of each error response, kept beside the reply until it is collected. */
const answered = new WeakMap<FastifyReply, string>();

/** Marks `reply` as answering the coded error `code` (the error handlers call it). */
export function noteAnsweredError(reply: FastifyReply, code: string): void {
  answered.set(reply, code);
}

/**
 * The registry code `reply` answered, for the per-response hooks (error metrics, request logs);
 * undefined for a reply that is not a coded error.
 */
export function answeredErrorCode(reply: FastifyReply): string | undefined {
  return answered.get(reply);
}
