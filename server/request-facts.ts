import { type FastifyRequest } from 'fastify';
import { type BatchReply, type BatchRequest } from '../batcher/types.js';

/** What a route learnt about its request that the request log line reports. */
export interface RequestFacts {
  /** The capabilities the request asked for (after the route resolved a model name). */
  readonly capabilities?: readonly string[];
  /** The batches that served it, in order. */
  readonly batchIds?: readonly number[];
  /** The `/process` job it queued. */
  readonly jobId?: string;
}

// Beside the request rather than decorated onto it: routes registered in tests without the
// request log still note facts, which are then simply never read.
const facts = new WeakMap<FastifyRequest, RequestFacts>();

function note(request: FastifyRequest, more: RequestFacts): void {
  const known = facts.get(request) ?? {};
  facts.set(request, {
    ...known,
    ...more,
    ...(more.batchIds === undefined ? {} : { batchIds: [...(known.batchIds ?? []), ...more.batchIds] }),
  });
}

/** Notes the capabilities a request asked for. */
export function noteCapabilities(request: FastifyRequest, capabilities: readonly string[]): void {
  note(request, { capabilities: [...capabilities] });
}

/** Notes the batch that answered a request. */
export function noteBatch(request: FastifyRequest, batchId: number): void {
  note(request, { batchIds: [batchId] });
}

/** Notes the `/process` job a request queued. */
export function noteJob(request: FastifyRequest, jobId: string): void {
  note(request, { jobId });
}

/** What routes noted about `request`. */
export function requestFacts(request: FastifyRequest): RequestFacts {
  return facts.get(request) ?? {};
}

/**
 * `service.analyse` for a route: notes the request's capabilities before (so a refused request's
 * line names them too) and its batch after.
 */
export async function analyseNoted(
  request: FastifyRequest,
  service: { analyse(request: BatchRequest): Promise<BatchReply> },
  batchRequest: BatchRequest,
): Promise<BatchReply> {
  noteCapabilities(request, batchRequest.capabilities);
  const answer = await service.analyse(batchRequest);
  noteBatch(request, answer.batch.id);
  return answer;
}
