import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { replyError } from '../../batcher/reply-error.js';
import { type BatchReply } from '../../batcher/types.js';
import { requestSignal } from '../request-signal.js';
import { analyseNoted } from '../request-facts.js';
import { checkTexts } from '../check-texts.js';
import { type CapserveService } from '../../engine/service.js';
import { anyCapabilityResultSchema } from '../../capabilities/result-schemas.js';
import { documentOnly } from '../openapi/document-only.js';
import { access, errorResponses, jsonResponse } from '../openapi/error-responses.js';
import { batchInfoSchema } from '../openapi/response-schemas.js';

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

/**
 * One text's results, keyed by requested capability. Documented here as a record of any kind's
 * result; the served OpenAPI document replaces it with this server's capability names and kinds
 * (server/openapi/classify-result.ts).
 */
export const classifyResultSchema = z.record(z.string(), anyCapabilityResultSchema).meta({ id: 'ClassifyResult' });

export const classifyReplySchema = documentOnly(
  z.object({
    results: z.array(classifyResultSchema).meta({ description: "One object per text, in order; a capability that failed for the request is absent (the request then fails as a whole)." }),
    batch: batchInfoSchema,
    timingMs: z.number(),
  }),
);

/** Limits that answer 413 rather than 400, and malformed texts; shared with the WebSocket. */
export function checkClassifyBody(body: ClassifyBody, limits: ClassifyLimits): void {
  checkTexts(body.texts, limits);
}

/** `POST /classify`: texts and capabilities in, each text's results out, through the batcher. */
export function classifyRoute(service: CapserveService, limits: ClassifyLimits): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/classify',
      {
        schema: {
          operationId: 'classify',
          tags: ['classify'],
          summary: 'Run capabilities over texts, batched with concurrent requests.',
          body: classifyBodySchema,
          response: {
            200: jsonResponse("Each text's results per requested capability.", classifyReplySchema),
            ...errorResponses(400, 413, 499, 500, 503, 504, ...access),
          },
        },
      },
      async (request, reply) => {
        const started = performance.now();
        checkClassifyBody(request.body, limits);
        const { texts, capabilities, timeoutMs, priority } = request.body;
        const deadline = requestSignal(reply, timeoutMs ?? limits.requestTimeoutMs);
        let answer: BatchReply;
        try {
          answer = await analyseNoted(request, service, { texts, capabilities, signal: deadline.signal, ...(priority === undefined ? {} : { priority }) });
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
