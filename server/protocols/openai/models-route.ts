import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CapserveError } from '../../../core/errors.js';
import { type EmbeddingService, embeddingModels } from './embedding-models.js';
import { modelListSchema, modelParamsSchema, modelSchema, type OpenAIModel, openAIErrorSchema } from './types.js';

/**
 * `GET /models` and `GET /models/{model}` (under `/v1`): the available embedding capabilities in
 * OpenAI's model shape. `created` is when this app was built, in Unix seconds: capabilities have
 * no creation date, and a stable value keeps clients that cache the list content.
 */
export function modelsRoute(service: EmbeddingService, created: number): FastifyPluginAsyncZod {
  const describe = (id: string): OpenAIModel => ({ id, object: 'model', created, owned_by: 'capserve' });
  return async (app) => {
    app.get(
      '/models',
      {
        schema: {
          operationId: 'listModels',
          summary: 'OpenAI-compatible list of the embedding models (capabilities) served.',
          tags: ['openai'],
          response: { 200: modelListSchema, '4xx': openAIErrorSchema },
        },
      },
      async () => ({ object: 'list' as const, data: embeddingModels(service).map(describe) }),
    );
    app.get(
      '/models/:model',
      {
        schema: {
          operationId: 'retrieveModel',
          summary: 'One embedding model (capability), or 404.',
          tags: ['openai'],
          params: modelParamsSchema,
          response: { 200: modelSchema, '4xx': openAIErrorSchema },
        },
      },
      async (request) => {
        const { model } = request.params;
        if (!embeddingModels(service).includes(model)) {
          throw new CapserveError('UNKNOWN_MODEL', `the model '${model}' does not exist or is not available`, { details: { param: 'model' } });
        }
        return describe(model);
      },
    );
  };
}
