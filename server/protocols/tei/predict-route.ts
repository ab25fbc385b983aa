import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CapserveError } from '../../../core/errors.js';
import { checkTexts } from '../../check-texts.js';
import { checkNotEmpty, fitTexts, truncationOf } from './fit-texts.js';
import { type TeiRouteOptions } from './tei-options.js';
import { predictionsOf } from './tei-results.js';
import { analyseTexts, type TeiService } from './tei-service.js';
import { type PredictBody, predictBodySchema, predictReplySchema, teiErrorSchema } from './types.js';

const invalid = (message: string): CapserveError => new CapserveError('VALIDATION_ERROR', message, { details: { param: 'inputs' } });

/** One sequence of a predict input: `[text]` is a text, `[a, b]` a pair, which no capserve classifier takes. */
function sequenceText(sequence: readonly string[], where: string): string {
  if (sequence.length === 1) return sequence[0] as string;
  if (sequence.length === 2) {
    throw invalid(`${where} is a pair of texts: capserve's classifiers take one text, not a pair (cross-encoder input); send [text]`);
  }
  throw invalid(`${where} has ${sequence.length} strings: expected a string, a pair of strings [string, string] or a batch of mixed strings and pairs [[string], [string, string], ...]`);
}

/**
 * `/predict`'s `inputs` as TEI reads them: a text or `[text]` is one input, `[a, b]` one pair of
 * texts, and `[[text], [a, b], …]` a batch, answered with one list of predictions per input.
 */
export function predictInputs(inputs: PredictBody['inputs']): { texts: string[]; batch: boolean } {
  if (typeof inputs === 'string') return { texts: [inputs], batch: false };
  if (inputs.length === 0) throw invalid('`inputs` cannot be empty: expected a string, a pair of strings or a batch [[string], ...]');
  if (inputs.every((item): item is string => typeof item === 'string')) return { texts: [sequenceText(inputs, '`inputs`')], batch: false };
  const batch = inputs as string[][];
  return { texts: batch.map((sequence, index) => sequenceText(sequence, `\`inputs\`[${index}]`)), batch: true };
}

/** `POST /predict`: the TEI classifier capability's label scores per input, highest first, through the batcher. */
export function predictRoute(service: TeiService, options: TeiRouteOptions, onLabels: (labels: readonly string[]) => void): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/predict',
      {
        schema: {
          summary: 'text-embeddings-inference: classify texts.',
          operationId: 'teiPredict',
          tags: ['text-embeddings-inference'],
          body: predictBodySchema,
          response: { 200: predictReplySchema, '4xx': teiErrorSchema, '5xx': teiErrorSchema },
        },
      },
      async (request, reply) => {
        const capability = options.classifierCapability;
        const body = request.body;
        const { texts, batch } = predictInputs(body.inputs);
        checkTexts(texts, options);
        checkNotEmpty(texts, 'inputs');
        if (body.raw_scores === true) {
          throw new CapserveError('VALIDATION_ERROR', '`raw_scores` is not supported: capserve classifiers give probabilities, not logits', {
            details: { param: 'raw_scores' },
          });
        }
        const fitted = await fitTexts(service, capability, texts, truncationOf(body));
        const results = await analyseTexts(service, reply, capability, fitted, options.requestTimeoutMs);
        const predictions = results.map((result) => predictionsOf(result, capability));
        // In the classifier's own order (its `scores` keys), not by score.
        onLabels(Object.keys((results[0] as { scores: Record<string, number> }).scores));
        return batch ? predictions : (predictions[0] ?? []);
      },
    );
  };
}
