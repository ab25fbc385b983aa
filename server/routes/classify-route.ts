import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { replyError } from '../../batcher/reply-error.js';
import { type BatchReply } from '../../batcher/types.js';
import { deadlineSignal } from '../deadline.js';
import { CapserveError } from '../../core/errors.js';
import { isWellFormed } from '../well-formed.js';
import { type CapserveService } from '../../engine/service.js';

export interface ClassifyLimits {
  readonly maxTextsPerRequest: number;
  readonly maxTextLength: number;
  /** Deadline of a request that gives no `timeoutMs`. */
  readonly requestTimeoutMs: number;
}

export const classifyBodySchema = z
  .object({
    texts: z.array(z.string().min(1, 'texts must not be empty strings')).min(1, 'give at least one text'),
    capabilities: z.array(z.string().min(1)).min(1, 'give at least one capability'),
    /** This request's deadline; the server's REQUEST_TIMEOUT_MS when absent. */
    timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
    /** Which waiting requests join the next batch first under load. @default "normal" */
    priority: z.enum(['high', 'normal', 'low']).optional(),
  })
  .strict();
export type ClassifyBody = z.infer<typeof classifyBodySchema>;

const classifyReplySchema = z.object({
  results: z.array(z.record(z.string(), z.unknown())),
  batch: z.object({ id: z.number(), texts: z.number(), requests: z.number(), waitedMs: z.number() }),
  timingMs: z.number(),
});

/** Limits that answer 413 rather than 400, and duplicate capability names; shared with the WebSocket. */
export function checkClassifyBody(body: ClassifyBody, limits: ClassifyLimits): void {
  if (body.texts.length > limits.maxTextsPerRequest) {
    throw new CapserveError('TOO_MANY_TEXTS', `${body.texts.length} texts exceed the limit of ${limits.maxTextsPerRequest} per request`, {
      details: { limit: limits.maxTextsPerRequest },
    });
  }
  const long = body.texts.findIndex((text) => text.length > limits.maxTextLength);
  if (long !== -1) {
    throw new CapserveError('TEXT_TOO_LONG', `text ${long} has ${body.texts[long]?.length} characters; the limit is ${limits.maxTextLength}`, {
      details: { index: long, limit: limits.maxTextLength },
    });
  }
  const malformed = body.texts.findIndex((text) => !isWellFormed(text));
  if (malformed !== -1) {
    throw new CapserveError('VALIDATION_ERROR', `text ${malformed} is not well-formed Unicode (it has a lone surrogate)`, {
      details: { index: malformed },
    });
  }
}

/** `POST /classify`: texts and capabilities in, each text's results out, through the batcher. */
export function classifyRoute(service: CapserveService, limits: ClassifyLimits): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/classify',
      {
        schema: {
          summary: 'Run capabilities over texts, batched with concurrent requests.',
          body: classifyBodySchema,
          response: { 200: classifyReplySchema },
        },
      },
      async (request, reply) => {
        const started = performance.now();
        checkClassifyBody(request.body, limits);
        // A client that goes away takes its pending work with it.
        const controller = new AbortController();
        const onClose = (): void => {
          if (!reply.raw.writableFinished) controller.abort();
        };
        reply.raw.once('close', onClose);
        const { texts, capabilities, timeoutMs, priority } = request.body;
        const deadline = deadlineSignal(timeoutMs ?? limits.requestTimeoutMs, controller.signal);
        let answer: BatchReply;
        try {
          answer = await service.analyse({ texts, capabilities, signal: deadline.signal, ...(priority === undefined ? {} : { priority }) });
        } finally {
          deadline.clear();
        }
        request.log.debug({ batchId: answer.batch.id, texts: request.body.texts.length }, 'classified');
        const failed = replyError(answer);
        if (failed !== undefined) throw failed;
        return {
          results: answer.results,
          batch: answer.batch,
          timingMs: Math.round((performance.now() - started) * 1000) / 1000,
        };
      },
    );
  };
}
