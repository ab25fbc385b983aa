import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CapserveError } from '../../../core/errors.js';
import { checkTexts } from '../../check-texts.js';
import { checkNotEmpty, emptyBatch, fitTexts, truncationOf } from './fit-texts.js';
import { type TeiRouteOptions } from './tei-options.js';
import { shapeVector, vectorOf } from './tei-results.js';
import { analyseTexts, type TeiService } from './tei-service.js';
import { type EmbedBody, embedBodySchema, embedReplySchema, teiErrorSchema } from './types.js';

/** The texts of `/embed`'s `inputs`: a text is a batch of one; token ids are refused. */
export function embedInputs(inputs: EmbedBody['inputs']): string[] {
  const texts = typeof inputs === 'string' ? [inputs] : inputs;
  if (texts.length === 0) throw emptyBatch('inputs');
  if (texts.some((input) => typeof input !== 'string')) {
    throw new CapserveError('TOKEN_IDS_UNSUPPORTED', 'inputs as token ids are not supported: send text');
  }
  return texts as string[];
}

/** A refused `prompt_name`: capserve's models carry no Sentence Transformers prompts. */
export function checkPromptName(promptName: string | null | undefined): void {
  if (promptName === undefined || promptName === null) return;
  throw new CapserveError(
    'VALIDATION_ERROR',
    `\`prompt_name\` is \`${promptName}\` but no prompts were found in the Sentence Transformers configuration: capserve has none; put the prompt in front of the text yourself`,
    { details: { param: 'prompt_name' } },
  );
}

/** `dimensions` as TEI checks it, before any work where the model's length is known. */
function checkDimensions(dimensions: number | undefined, length: number | undefined): void {
  if (dimensions === 0) throw new CapserveError('VALIDATION_ERROR', '`dimensions` should be positive', { details: { param: 'dimensions' } });
  if (dimensions !== undefined && length !== undefined && dimensions > length) {
    throw new CapserveError('VALIDATION_ERROR', '`dimensions` should be smaller than the maximum embedding dimension.', { details: { param: 'dimensions', limit: length } });
  }
}

/**
 * `POST /embed` (and `POST /`, where TEI serves an embedding model and where the Hugging Face
 * client's `featureExtraction` posts when its `endpointUrl` is the server): one vector per
 * input from the TEI embedding capability, through the batcher.
 */
export function embedRoute(service: TeiService, options: TeiRouteOptions): FastifyPluginAsyncZod {
  return async (app) => {
    for (const [url, operationId] of [
      ['/embed', 'teiEmbed'],
      ['/', 'teiEmbedRoot'],
    ] as const) {
      app.post(
        url,
        {
          schema: {
            summary: url === '/' ? 'text-embeddings-inference: `/embed` at the root, as TEI serves an embedding model.' : 'text-embeddings-inference: embed texts.',
            operationId,
            tags: ['text-embeddings-inference'],
            body: embedBodySchema,
            response: { 200: embedReplySchema, '4xx': teiErrorSchema, '5xx': teiErrorSchema },
          },
        },
        async (request, reply) => {
          const capability = options.embeddingCapability;
          const body = request.body;
          // Every check runs before anything reaches the batcher, cheapest first.
          const texts = embedInputs(body.inputs);
          checkTexts(texts, options);
          checkNotEmpty(texts, 'inputs');
          checkPromptName(body.prompt_name);
          const dimensions = body.dimensions ?? undefined;
          checkDimensions(dimensions, service.modelBehind(capability)?.dimensions);
          const fitted = await fitTexts(service, capability, texts, truncationOf(body));
          const results = await analyseTexts(service, reply, capability, fitted, options.requestTimeoutMs);
          const vectors = results.map((result) => vectorOf(result, capability));
          checkDimensions(dimensions, vectors[0]?.length);
          return vectors.map((vector) => shapeVector(vector, dimensions, body.normalize ?? true));
        },
      );
    }
  };
}
