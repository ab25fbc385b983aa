import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type FastifyPluginAsync } from 'fastify';
import { CapserveError } from '../../../core/errors.js';
import { projectRoot } from '../../../core/project-root.js';
import { answerErrors } from '../../fastify-errors.js';
import { type KserveService } from './find-model.js';
import { headerLengthHeader, splitInferBody } from './infer-body.js';
import { type InferLimits, inferRoute } from './infer-route.js';
import { modelRoutes } from './model-routes.js';
import { toV2Error } from './v2-error.js';

/**
 * The KServe V2 / Open Inference Protocol, registered under `/v2`, with Triton's binary tensor
 * data extension. Each capability is a model. Its body parser, error and not-found handlers are
 * scoped to it: every failure under `/v2` (the request, the limits, the global auth and
 * rate-limit hooks, the batcher) answers in the V2 error shape, and the rest of the API keeps
 * capserve's own.
 */
export function kserveProtocol(service: KserveService, limits: InferLimits): FastifyPluginAsync {
  return async (app) => {
    const { version } = JSON.parse(await readFile(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string };

    // JSON, or JSON followed by binary tensor data: either way the raw bytes (within the body
    // limit), split by Inference-Header-Content-Length before anything is parsed.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser(['application/json', 'application/octet-stream'], { parseAs: 'buffer' }, (request, body, done) => {
      try {
        done(null, splitInferBody(body as Buffer, request.headers[headerLengthHeader]));
      } catch (error) {
        done(error as CapserveError, undefined);
      }
    });

    answerErrors(app, (error) => ({ status: error.statusCode, body: toV2Error(error) }), { notFound: true });

    await app.register(modelRoutes(service, { name: 'capserve', version }));
    await app.register(inferRoute(service, limits));
  };
}
