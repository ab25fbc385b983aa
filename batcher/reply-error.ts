import { CapserveError } from '../core/errors.js';
import { type BatchReply } from './types.js';

/**
 * A reply's failures as one coded error, for callers that need every capability or nothing
 * (`/process` inline, long-text jobs): the first failure's code, every failure's message and
 * the list in `details`. Undefined when every capability succeeded.
 */
export function replyError(reply: Pick<BatchReply, 'failures'>): CapserveError | undefined {
  const [first] = reply.failures;
  if (first === undefined) return undefined;
  return new CapserveError(first.code, reply.failures.map((failure) => failure.message).join('; '), { details: { failures: reply.failures } });
}
