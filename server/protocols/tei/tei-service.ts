import { type FastifyReply } from 'fastify';
import { replyError } from '../../../batcher/reply-error.js';
import { type BatchReply } from '../../../batcher/types.js';
import { type CapserveService } from '../../../engine/service.js';
import { requestSignal } from '../../request-signal.js';
import { analyseNoted } from '../../request-facts.js';

/** What the TEI routes use of the service. */
export type TeiService = Pick<CapserveService, 'analyse' | 'describeCapabilities' | 'tokenize' | 'countTokens' | 'modelBehind'>;

/**
 * Runs one capability over texts through the batcher, so TEI requests share batches with
 * `/classify`; the client going away or the deadline passing withdraws the work. Each text's
 * result, in order, or the request's coded error.
 */
export async function analyseTexts(service: TeiService, reply: FastifyReply, capability: string, texts: readonly string[], timeoutMs: number): Promise<unknown[]> {
  const signal = requestSignal(reply, timeoutMs);
  let answer: BatchReply;
  try {
    answer = await analyseNoted(reply.request, service, { texts: [...texts], capabilities: [capability], signal: signal.signal });
  } finally {
    signal.clear();
  }
  const failed = replyError(answer);
  if (failed !== undefined) throw failed;
  return answer.results.map((result) => result[capability]);
}
