import { type FastifyPluginAsync } from 'fastify';
import { replyError } from '../../../batcher/reply-error.js';
import { CapserveError } from '../../../core/errors.js';
import { validationError } from '../../../core/format-issues.js';
import { type TextLimits } from '../../check-texts.js';
import { requestSignal } from '../../request-signal.js';
import { analyseNoted } from '../../request-facts.js';
import { buildOutputs } from './build-outputs.js';
import { encodeResponse } from './encode-response.js';
import { type KserveService, findModel } from './find-model.js';
import { headerLengthHeader, isInferBody } from './infer-body.js';
import { modelPaths, operationId, type ModelParams } from './model-routes.js';
import { modelVersion, outputKindOf, outputNames } from './model-signature.js';
import { readTexts } from './read-texts.js';
import { selectOutputs } from './select-outputs.js';
import { inferRequestSchema } from './types.js';

export interface InferLimits extends TextLimits {
  /** The deadline of every inference request (V2 requests carry none of their own). */
  readonly requestTimeoutMs: number;
}

/**
 * `POST /v2/models/{name}[/versions/{version}]/infer`: the texts of the request's one input run
 * through `service.analyse` with the model's capability, so they share batches with
 * `/classify`. The model, the request, the outputs and every text are checked first; a bad
 * request never reaches the batcher.
 */
export function inferRoute(service: KserveService, limits: InferLimits): FastifyPluginAsync {
  return async (app) => {
    for (const [i, url] of modelPaths('/infer').entries()) {
      app.post<{ Params: ModelParams }>(
        url,
        { schema: { operationId: operationId('kserveModelInfer', i), summary: 'KServe V2 inference: JSON or binary tensor data in and out.', tags: ['KServe V2'] } },
        async (request, reply) => {
          const capability = findModel(service, request.params.name, request.params.version);
          if (!isInferBody(request.body)) throw new CapserveError('VALIDATION_ERROR', 'the inference request needs a JSON body');
          const parsed = inferRequestSchema.safeParse(request.body.header);
          if (!parsed.success) throw validationError('inference request', parsed.error.issues);
          const kind = outputKindOf(capability.kind);
          const selected = selectOutputs(parsed.data, outputNames[kind]);
          const texts = readTexts(parsed.data, request.body.binary, limits);

          const { signal, clear } = requestSignal(reply, limits.requestTimeoutMs);
          const answer = await analyseNoted(request, service, { texts, capabilities: [capability.name], signal }).finally(clear);
          const failed = replyError(answer);
          if (failed !== undefined) throw failed;
          request.log.debug({ batchId: answer.batch.id, texts: texts.length, model: capability.name }, 'v2 inference');

          const tensors = buildOutputs(kind, capability.name, answer.results.map((result) => result[capability.name]));
          const head = { model_name: capability.name, model_version: modelVersion, ...(parsed.data.id === undefined ? {} : { id: parsed.data.id }) };
          const encoded = encodeResponse(head, tensors, selected);
          if (encoded.kind === 'json') return encoded.body;
          reply.header(headerLengthHeader, String(encoded.headerLength)).type('application/octet-stream');
          return encoded.body;
        },
      );
    }
  };
}
