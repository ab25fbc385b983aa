import { type FastifyError, type FastifyPluginAsync } from 'fastify';
import { wallTime } from '../../../core/time.js';
import { CapserveError } from '../../../core/errors.js';
import { registryErrorOf, setErrorHeaders } from '../../fastify-errors.js';
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
    app.setErrorHandler((error: FastifyError, request, reply) => {
      let mapped = registryErrorOf(error);
      if (mapped === undefined) {
        request.log.error({ err: error }, 'unhandled error');
        mapped = new CapserveError('INTERNAL_ERROR');
      } else if (mapped.statusCode >= 500) {
        request.log.error({ err: mapped, code: mapped.code }, mapped.message);
      }
      setErrorHeaders(reply, mapped);
      return reply.code(mapped.statusCode).send(toOpenAIError(mapped));
    });
    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send(toOpenAIError(new CapserveError('NOT_FOUND', `no route ${request.method} ${request.url}`))),
    );
    await app.register(embeddingsRoute(service, limits));
    await app.register(modelsRoute(service, Math.floor(wallTime.now() / 1000)));
  };
}
