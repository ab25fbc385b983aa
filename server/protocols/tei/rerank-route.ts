import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { cosine } from '../../../capabilities/math/vectors.js';
import { checkTexts } from '../../check-texts.js';
import { checkNotEmpty, emptyBatch, fitTexts, truncationOf } from './fit-texts.js';
import { type TeiRouteOptions } from './tei-options.js';
import { vectorOf } from './tei-results.js';
import { analyseTexts, type TeiService } from './tei-service.js';
import { type Rank, rerankBodySchema, rerankReplySchema, teiErrorSchema } from './types.js';

/**
 * `POST /rerank`: the texts ranked by how close each is to the query. No capserve model is a
 * cross-encoder, so the score is the cosine similarity of the TEI embedding capability's
 * vectors (query and texts embedded in one request, so in one batch), mapped onto [0, 1] as
 * (1 + cosine) / 2 unless `raw_scores`; the order is the same either way.
 */
export function rerankRoute(service: TeiService, options: TeiRouteOptions): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/rerank',
      {
        schema: {
          summary: 'text-embeddings-inference: rank texts against a query (cosine similarity of embeddings).',
          operationId: 'teiRerank',
          tags: ['text-embeddings-inference'],
          body: rerankBodySchema,
          response: { 200: rerankReplySchema, '4xx': teiErrorSchema, '5xx': teiErrorSchema },
        },
      },
      async (request, reply) => {
        const capability = options.embeddingCapability;
        const { query, texts, raw_scores: raw = false, return_text: returnText = false } = request.body;
        if (texts.length === 0) throw emptyBatch('texts');
        // As in TEI, `max_client_batch_size` counts the texts; the query is one more text for the batcher.
        checkTexts(texts, options);
        checkTexts([query], options);
        checkNotEmpty([query], 'query');
        checkNotEmpty(texts, 'texts');
        const fitted = await fitTexts(service, capability, [query, ...texts], truncationOf(request.body));
        const results = await analyseTexts(service, reply, capability, fitted, options.requestTimeoutMs);
        const [queryVector, ...vectors] = results.map((result) => vectorOf(result, capability));
        const ranks: Rank[] = vectors.map((vector, index) => {
          const similarity = cosine(queryVector ?? [], vector);
          return { index, ...(returnText ? { text: texts[index] as string } : {}), score: raw ? similarity : (1 + similarity) / 2 };
        });
        return ranks.sort((a, b) => b.score - a.score);
      },
    );
  };
}
