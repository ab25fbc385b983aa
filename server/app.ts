import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { jsonSchemaTransformObject, validatorCompiler } from 'fastify-type-provider-zod';
import { serializerCompiler } from './openapi/document-only.js';
import { finishDocument, openapiOptions } from './openapi/document.js';
import { openapiTransform } from './openapi/transform.js';
import { wsMessagesJsonSchema, wsMessagesPath } from './routes/ws-messages.js';
import { type ServerConfig } from './config.js';
import { type ApiKeys } from './api-keys.js';
import { type Scheduler } from '../core/time.js';
import { CapserveError } from '../core/errors.js';
import { registryErrorOf, setErrorHeaders } from './fastify-errors.js';
import { classifyRoute } from './routes/classify-route.js';
import { openaiProtocol } from './protocols/openai/plugin.js';
import { kserveProtocol } from './protocols/kserve/plugin.js';
import { teiProtocol } from './protocols/tei/plugin.js';
import { type ModelRepository } from '../models/repository/model-repository.js';
import { type ProcessFrontEnd } from '../jobs/front-end.js';
import { paceRefusals } from './pace-refusals.js';
import { type RateLimitOptions, registerRateLimit } from './rate-limit.js';
import { adminRoutes } from './routes/admin-routes.js';
import { infoRoutes } from './routes/info-routes.js';
import { modelRoutes } from './routes/model-routes.js';
import { processRoutes } from './routes/process-routes.js';
import { reviewRoutes } from './routes/review-routes.js';
import { trainingRoutes, type TrainingRoutesOptions } from './routes/training-routes.js';
import { type ReviewQueue } from '../review/review-queue.js';
import { type Store } from '../store/types.js';
import { wsJobMessages } from './routes/ws-job-messages.js';
import { registerWsRoute } from './routes/ws-route.js';
import { type CapserveService } from '../engine/service.js';

export interface AppOptions {
  readonly service: CapserveService;
  readonly config: Pick<ServerConfig, 'maxTextsPerRequest' | 'maxTextLength' | 'bodyLimitBytes' | 'maxUploadBytes' | 'requestTimeoutMs'> &
    Partial<Pick<ServerConfig, 'wsMaxMessagesPerSecond' | 'teiEmbeddingCapability' | 'teiClassifierCapability' | 'maxQueuedTexts' | 'maxBatchTexts' | 'maxBatchTokens' | 'refusalDelayMs'>>;
  readonly logger: FastifyBaseLogger;
  /** The `/process` and `/jobs` front-end; without it those routes are absent. */
  readonly frontEnd?: ProcessFrontEnd;
  /** Bearer authentication; absent or without keys, every route is open. */
  readonly auth?: { readonly keys: ApiKeys; readonly exemptPaths: readonly string[] };
  /** Per-client request limits; absent or max 0, none. */
  readonly rateLimit?: RateLimitOptions;
  /** The model repository behind `/models`; absent, those routes are too. */
  readonly repository?: ModelRepository;
  /** Behind `POST /admin/reload`; absent, the route is too. */
  readonly reload?: () => Promise<{ capabilities: string[] }>;
  /** The store behind data sets, model jobs, reviews and the audit log; absent, those routes are too. */
  readonly store?: Store;
  /** `/train`, `/evaluate`, `/model-jobs/predict`, `/model-jobs`, `/datasets`; needs `store` and `repository`. */
  readonly training?: Omit<TrainingRoutesOptions, 'store' | 'repository' | 'service'>;
  /** Timers of the app's own waits (held refusals). @default systemTime */
  readonly time?: Scheduler;
  /** `/reviewers`, `/reviews`, `/audit`; needs `store`. */
  readonly reviews?: ReviewQueue;
}

/** Builds the HTTP API over a service; the caller listens and closes. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { service, config, logger } = options;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    // Per-request lines at info would dominate the log at batch-server rates; see the onResponse hook.
    logController: new LogController({ disableRequestLogging: true }),
  });
  // JSON only (and multipart on /process): a text/plain body is refused with 415, not parsed as a string.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    ...openapiOptions('0.1.0'),
    transform: openapiTransform,
    transformObject: jsonSchemaTransformObject,
  });
  // Finished per request: the capabilities in service (and so the /classify result names) change with a reload.
  app.get('/docs/json', { schema: { hide: true } }, async () =>
    finishDocument(app.swagger(), { exemptPaths: options.auth?.exemptPaths ?? [], capabilities: service.capabilitySpecs() }),
  );
  app.get(wsMessagesPath, { schema: { hide: true } }, async () => wsMessagesJsonSchema());

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = registryErrorOf(error);
    if (mapped !== undefined) {
      if (mapped.statusCode >= 500) request.log.error({ err: mapped, code: mapped.code }, mapped.message);
      setErrorHeaders(reply, mapped);
      return reply.code(mapped.statusCode).send(mapped.toBody());
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(new CapserveError('INTERNAL_ERROR').toBody());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(new CapserveError('NOT_FOUND', `no route ${request.method} ${request.url}`).toBody()),
  );
  // Before the auth hook: @fastify/websocket's own hooks mark upgrade requests so that a refused
  // upgrade's socket is destroyed after its error response.
  await app.register(websocket, { options: { maxPayload: config.bodyLimitBytes } });
  const auth = options.auth;
  if (auth !== undefined && auth.keys.enabled) {
    const exempt = new Set(auth.exemptPaths);
    // onRequest runs before the body is read and before a WebSocket upgrade: no key, no work.
    app.addHook('onRequest', async (request) => {
      if (!exempt.has(request.url.split('?')[0] ?? '')) auth.keys.check(request.headers.authorization);
    });
  }
  paceRefusals(app, config.refusalDelayMs ?? 0, options.time);
  if (options.rateLimit !== undefined) await registerRateLimit(app, options.rateLimit);
  // An API, not pages: nothing to sniff, frame or cache, and no referrer to leak.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request completed');
    service.metrics.observeHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  await app.register(infoRoutes(service));
  await app.register(classifyRoute(service, config));
  await app.register(openaiProtocol(service, config), { prefix: '/v1' });
  await app.register(kserveProtocol(service, config), { prefix: '/v2' });
  // text-embeddings-inference's routes sit at the root, as TEI serves them (`POST /` included).
  await app.register(
    teiProtocol(service, {
      ...config,
      embeddingCapability: config.teiEmbeddingCapability ?? 'embedding',
      classifierCapability: config.teiClassifierCapability ?? 'sentiment',
    }),
  );
  const { repository, store } = options;
  if (repository !== undefined) await app.register(modelRoutes(repository, store));
  if (options.training !== undefined && store !== undefined && repository !== undefined) {
    await app.register(trainingRoutes({ ...options.training, store, repository, service }));
  }
  if (options.reviews !== undefined && store !== undefined) await app.register(reviewRoutes(options.reviews, store));
  if (options.reload !== undefined) await app.register(adminRoutes(options.reload));
  const frontEnd = options.frontEnd;
  if (frontEnd !== undefined) {
    // One file per job, bounded by MAX_UPLOAD_BYTES; its type is sniffed from its bytes later.
    await app.register(multipart, {
      limits: { fileSize: config.maxUploadBytes, files: 1, fields: 16, parts: 17, fieldSize: config.bodyLimitBytes },
      throwFileSizeLimit: true,
    });
    await app.register(processRoutes(frontEnd));
  }
  const extra = frontEnd === undefined ? [] : [wsJobMessages(frontEnd, logger)];
  await app.register(async (scoped) => registerWsRoute(scoped, service, config, extra));
  return app;
}
