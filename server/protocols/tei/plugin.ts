import { type FastifyPluginAsync } from 'fastify';
import { answerErrors } from '../../fastify-errors.js';
import { embedRoute } from './embed-route.js';
import { infoRoute } from './info-route.js';
import { predictRoute } from './predict-route.js';
import { rerankRoute } from './rerank-route.js';
import { toTeiError } from './tei-error.js';
import { type TeiRouteOptions } from './tei-options.js';
import { type TeiService } from './tei-service.js';
import { tokenizeRoute } from './tokenize-route.js';

/**
 * text-embeddings-inference's HTTP API at the root, for TEI clients: `/embed` (and `POST /`),
 * `/predict`, `/rerank`, `/tokenize`, `/info`. Its error handler is scoped to these routes, so
 * every failure on them (schema, limits, the global auth and rate-limit hooks, the batcher)
 * reaches a TEI client as TEI's `{ error, error_type }` with TEI's status; the rest of the API
 * keeps capserve's envelope.
 */
export function teiProtocol(service: TeiService, options: TeiRouteOptions): FastifyPluginAsync {
  return async (app) => {
    answerErrors(app, toTeiError, { notFound: false });
    // The classifier's labels, as its latest answer gave them, for `/info` when its model has none.
    let labels: readonly string[] = [];
    await app.register(embedRoute(service, options));
    const onLabels = (seen: readonly string[]): void => {
      labels = seen;
    };
    await app.register(predictRoute(service, options, onLabels));
    await app.register(rerankRoute(service, options));
    await app.register(tokenizeRoute(service, options));
    await app.register(infoRoute(service, options, () => labels));
  };
}
