import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { replyError } from '../../../batcher/reply-error.js';
import { type BatchReply } from '../../../batcher/types.js';
import { CapserveError, isCapserveError } from '../../../core/errors.js';
import { checkTexts, type TextLimits } from '../../check-texts.js';
import { requestSignal } from '../../request-signal.js';
import { analyseNoted } from '../../request-facts.js';
import { shorten, toBase64 } from './encode-embedding.js';
import { type EmbeddingService, resolveEmbeddingModel } from './embedding-models.js';
import { type EmbeddingsBody, embeddingsBodySchema, type EmbeddingsReply, embeddingsReplySchema, openAIErrorSchema } from './types.js';

export interface EmbeddingsLimits extends TextLimits {
  /** Deadline of every request (OpenAI's body has no field for one). */
  readonly requestTimeoutMs: number;
}

const invalidInput = (message: string): CapserveError => new CapserveError('VALIDATION_ERROR', message, { details: { param: 'input' } });

/** Runs a check of the texts, naming `input` as the field of any error it throws that names none. */
function aboutInput(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (!isCapserveError(error) || error.details?.param !== undefined) throw error;
    throw new CapserveError(error.code, error.message, { details: { ...error.details, param: 'input' }, cause: error });
  }
}

/** The body's texts, or the 400 that OpenAI's other input shapes and empty inputs get. */
export function textsOf(input: EmbeddingsBody['input']): string[] {
  const texts = typeof input === 'string' ? [input] : input;
  if (texts.length === 0) throw invalidInput('input must not be an empty array');
  if (texts.some((item) => typeof item !== 'string')) {
    throw new CapserveError('TOKEN_IDS_UNSUPPORTED', 'input as token ids (arrays of integers) is not supported: send text', { details: { param: 'input' } });
  }
  const strings = texts as string[];
  const empty = strings.findIndex((text) => text === '');
  if (empty !== -1) throw invalidInput(typeof input === 'string' ? 'input must not be an empty string' : `input[${empty}] must not be an empty string`);
  return strings;
}

/**
 * Tokens per text as the model sees them, special tokens ([CLS], [SEP]) included, refusing a text
 * the model would truncate: OpenAI answers an over-long input with a 400 rather than embedding
 * its beginning, and a client that relies on that must not get a silently shortened vector.
 */
async function countTokens(service: EmbeddingService, capability: string, texts: readonly string[]): Promise<number[]> {
  const counts = await service.countTokens(capability, texts);
  const maxTokens = service.modelBehind(capability)?.maxTokens;
  if (maxTokens !== undefined) {
    const over = counts.findIndex((count) => count > maxTokens);
    if (over !== -1) {
      throw new CapserveError('CONTEXT_LENGTH_EXCEEDED', `input[${over}] has ${counts[over]} tokens; the model '${capability}' takes at most ${maxTokens}`, {
        details: { param: 'input', index: over, tokens: counts[over], limit: maxTokens },
      });
    }
  }
  return counts;
}

/** `POST /embeddings` (under `/v1`): OpenAI's embeddings API over an embedding capability, through the batcher. */
export function embeddingsRoute(service: EmbeddingService, limits: EmbeddingsLimits): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/embeddings',
      {
        schema: {
          operationId: 'createEmbedding',
          summary: 'OpenAI-compatible embeddings of one text or many, batched with concurrent requests.',
          tags: ['openai'],
          body: embeddingsBodySchema,
          response: { 200: embeddingsReplySchema, '4xx': openAIErrorSchema, '5xx': openAIErrorSchema },
        },
      },
      async (request, reply): Promise<EmbeddingsReply> => {
        const { model, dimensions, encoding_format: format = 'float' } = request.body;
        // Every check below runs before anything reaches the batcher, cheapest first.
        const texts = textsOf(request.body.input);
        aboutInput(() => checkTexts(texts, limits));
        const capability = resolveEmbeddingModel(service, model);
        const length = service.modelBehind(capability)?.dimensions;
        if (dimensions !== undefined && length !== undefined && dimensions > length) {
          throw new CapserveError('VALIDATION_ERROR', `dimensions ${dimensions} is more than the ${length} of the model '${capability}'`, {
            details: { param: 'dimensions', limit: length },
          });
        }
        const tokens = await countTokens(service, capability, texts);

        const deadline = requestSignal(reply, limits.requestTimeoutMs);
        let answer: BatchReply;
        try {
          answer = await analyseNoted(request, service, { texts, capabilities: [capability], signal: deadline.signal });
        } finally {
          deadline.clear();
        }
        const failed = replyError(answer);
        if (failed !== undefined) throw failed;
        const usage = tokens.reduce((sum, count) => sum + count, 0);
        return {
          object: 'list',
          data: answer.results.map((result, index) => {
            const computed = result[capability] as number[];
            const vector = dimensions === undefined ? computed : shorten(computed, dimensions);
            return { object: 'embedding', index, embedding: format === 'base64' ? toBase64(vector) : vector };
          }),
          model: capability,
          usage: { prompt_tokens: usage, total_tokens: usage },
        };
      },
    );
  };
}
