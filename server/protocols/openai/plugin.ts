import { type FastifyPluginAsync } from 'fastify';
import { wallTime } from '../../../core/time.js';
import { answerErrors } from '../../fastify-errors.js';
import { type EmbeddingService } from './embedding-models.js';
import { embeddingsRoute, type EmbeddingsLimits } from './embeddings-route.js';
import { modelsRoute } from './models-route.js';
import { toOpenAIError } from './openai-error.js';

/**
 * The OpenAI-compatible API, registered under `/v1`: embeddings and models. Its error and
 * not-found handlers are scoped to it, so every failure under `/v1` (schema, limits, the global
 * auth and rate-limit hooks, the batcher) reaches an OpenAI client in OpenAI's error shape, from
 * which the official SDK raises its typed errors; the rest of the API keeps capserve's envelope.
 */
export function openaiProtocol(service: EmbeddingService, limits: EmbeddingsLimits): FastifyPluginAsync {
  return async (app) => {
    answerErrors(app, (error) => ({ status: error.statusCode, body: toOpenAIError(error) }), { notFound: true });
    await app.register(embeddingsRoute(service, limits));
    await app.register(modelsRoute(service, Math.floor(wallTime.now() / 1000)));
  };
}
