import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { projectRoot } from '../../../core/project-root.js';
import { type TeiRouteOptions } from './tei-options.js';
import { type TeiService } from './tei-service.js';

/** capserve's version, as TEI's `version` names the router's. */
const version = (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;

const infoSchema = z
  .object({
    model_id: z.string(),
    model_sha: z.null(),
    model_dtype: z.string(),
    served_model_name: z.string(),
    model_type: z.object({
      embedding: z.object({ capability: z.string(), dimensions: z.number().int().nullable() }).optional(),
      classifier: z
        .object({ capability: z.string(), id2label: z.record(z.string(), z.string()), label2id: z.record(z.string(), z.number().int()) })
        .optional(),
    }),
    max_concurrent_requests: z.number().int().nullable(),
    max_input_length: z.number().int().nullable(),
    max_batch_tokens: z.number().int().nullable(),
    max_batch_requests: z.number().int().nullable(),
    max_client_batch_size: z.number().int(),
    auto_truncate: z.boolean(),
    tokenization_workers: z.number().int(),
    version: z.string(),
    sha: z.null(),
    docker_label: z.null(),
    rerank: z.string(),
  })
  .meta({ id: 'TeiInfo' });
type Info = z.infer<typeof infoSchema>;

/**
 * `GET /info`: TEI's `Info` as far as it applies. TEI serves one model of one type; capserve
 * serves an embedding capability and a classifier capability, so `model_type` names both (each
 * in TEI's inner shape), and the limits are capserve's own: MAX_TEXTS_PER_REQUEST per request,
 * MAX_BATCH_TOKENS estimated tokens and MAX_BATCH_TEXTS texts (so at most as many requests) per
 * batch, MAX_QUEUED_TEXTS texts (so at most as many requests) in flight before 429. The
 * classifier's labels come from its model, else from its latest `/predict` answer.
 */
export function infoRoute(service: TeiService, options: TeiRouteOptions, knownLabels: () => readonly string[]): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/info',
      {
        schema: {
          summary: 'text-embeddings-inference: what is served and its limits.',
          operationId: 'teiInfo',
          tags: ['text-embeddings-inference'],
          response: { 200: infoSchema },
        },
      },
      async (): Promise<Info> => {
        const embedding = service.modelBehind(options.embeddingCapability);
        const capabilities = new Set(service.describeCapabilities().map((capability) => capability.name));
        const classifierModel = service.modelBehind(options.classifierCapability);
        const labels = classifierModel?.labels ?? knownLabels();
        const modelId = embedding?.name ?? options.embeddingCapability;
        return {
          model_id: modelId,
          model_sha: null,
          model_dtype: 'float32',
          served_model_name: modelId,
          model_type: {
            ...(capabilities.has(options.embeddingCapability)
              ? { embedding: { capability: options.embeddingCapability, dimensions: embedding?.dimensions ?? null } }
              : {}),
            ...(capabilities.has(options.classifierCapability)
              ? {
                  classifier: {
                    capability: options.classifierCapability,
                    id2label: Object.fromEntries(labels.map((label, index) => [String(index), label])),
                    label2id: Object.fromEntries(labels.map((label, index) => [label, index])),
                  },
                }
              : {}),
          },
          max_concurrent_requests: options.maxQueuedTexts ?? null,
          max_input_length: embedding?.maxTokens ?? null,
          max_batch_tokens: options.maxBatchTokens ?? null,
          max_batch_requests: options.maxBatchTexts ?? null,
          max_client_batch_size: options.maxTextsPerRequest,
          auto_truncate: false,
          tokenization_workers: 1,
          version,
          sha: null,
          docker_label: null,
          rerank: `cosine similarity of '${options.embeddingCapability}' embeddings, as (1 + cosine) / 2 (raw_scores: the cosine); no cross-encoder model`,
        };
      },
    );
  };
}
