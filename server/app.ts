import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransformObject, validatorCompiler } from 'fastify-type-provider-zod';
import { serializerCompiler } from './openapi/document-only.js';
import { finishDocument, openapiOptions } from './openapi/document.js';
import { openapiTransform } from './openapi/transform.js';
import { wsMessagesJsonSchema, wsMessagesPath } from './routes/ws-messages.js';
import { type ServerConfig } from './config.js';
import { type ApiKeys } from './api-keys.js';
import { AuthFailures } from './auth-failures.js';
import { registerAuth } from './authenticate.js';
import { registerOriginCheck } from './origin-check.js';
import { type Scheduler } from '../core/time.js';
import { answerErrors, capserveErrorShape } from './fastify-errors.js';
import { registerHttpTracing } from './http-tracing.js';
import { answeredErrorCode } from './answered-error.js';
import { requestIdOf } from './request-id.js';
import { registerRequestLog } from './request-log.js';
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
import { type AdoptVersion } from './adopt-version.js';
import { processRoutes } from './routes/process-routes.js';
import { reviewRoutes } from './routes/review-routes.js';
import { trainingRoutes, type TrainingRoutesOptions } from './routes/training-routes.js';
import { type ReviewQueue } from '../review/review-queue.js';
import { type Store } from '../store/types.js';
import { wsJobMessages } from './routes/ws-job-messages.js';
import { JobOwners } from './job-owners.js';
import { registerWsRoute } from './routes/ws-route.js';
import { type CapserveService } from '../engine/service.js';

export interface AppOptions {
  readonly service: CapserveService;
  readonly config: Pick<ServerConfig, 'maxTextsPerRequest' | 'maxTextLength' | 'bodyLimitBytes' | 'maxUploadBytes' | 'requestTimeoutMs'> &
    Partial<Pick<ServerConfig, 'trustProxy' | 'wsMaxMessagesPerSecond' | 'wsMaxBufferedBytes' | 'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs' | 'teiEmbeddingCapability' | 'teiClassifierCapability' | 'maxQueuedTexts' | 'maxBatchTexts' | 'maxBatchTokens' | 'refusalDelayMs'>>;
  readonly logger: FastifyBaseLogger;
  /** The `/process` and `/jobs` front-end; without it those routes are absent. */
  readonly frontEnd?: ProcessFrontEnd;
  /**
   * Bearer authentication with roles; absent or without keys, every route is open. Failed
   * authentications are limited per address (`failureLimit` a minute, 0 none). @default failureLimit 20
   */
  readonly auth?: { readonly keys: ApiKeys; readonly exemptPaths: readonly string[]; readonly failureLimit?: number };
  /** Browser origins allowed to change state and open the WebSocket (CORS_ORIGINS). @default [] */
  readonly corsOrigins?: readonly string[];
  /** Per-client request limits; absent or max 0, none. */
  readonly rateLimit?: RateLimitOptions;
  /** The model repository behind `/models`; absent, those routes are too. */
  readonly repository?: ModelRepository;
  /** Behind `POST /models/:name/default` when the running configuration may read the model; absent, the route only checks the version's files before moving the default. */
  readonly adoptVersion?: AdoptVersion;
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
    // Slow clients (headers or body trickled in) are cut off instead of holding a connection:
    // node checks both limits every connectionsCheckingInterval, so that is kept short.
    ...(config.httpRequestTimeoutMs === undefined ? {} : { requestTimeout: config.httpRequestTimeoutMs }),
    ...(config.httpHeadersTimeoutMs === undefined
      ? {}
      : {
          http: {
            headersTimeout: Math.min(config.httpHeadersTimeoutMs, config.httpRequestTimeoutMs ?? Number.POSITIVE_INFINITY),
            connectionsCheckingInterval: Math.min(1000, config.httpHeadersTimeoutMs),
          },
        }),
    // A client's x-request-id only when well formed, else a fresh UUID (server/request-id.ts).
    genReqId: requestIdOf,
    // Behind a load balancer the connection's address is the balancer's; TRUST_PROXY names the
    // balancers whose X-Forwarded-For gives the client's (rate limits, failed-login limits, logs).
    ...(config.trustProxy === undefined || config.trustProxy.length === 0 ? {} : { trustProxy: [...config.trustProxy] }),
    // fastify's own two lines per request (raw URL included) give way to our one (server/request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
  });
  // First, so every route's handler is wrapped and the span covers every other hook.
  registerHttpTracing(app);
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

  answerErrors(app, capserveErrorShape, { notFound: true });
  registerRequestLog(app);
  // Before the auth hook: @fastify/websocket's own hooks mark upgrade requests so that a refused
  // upgrade's socket is destroyed after its error response.
  await app.register(websocket, { options: { maxPayload: config.bodyLimitBytes } });
  // Origins before keys: a preflight carries no key, and a refused page should not count as a failed authentication.
  registerOriginCheck(app, options.corsOrigins ?? []);
  const auth = options.auth;
  if (auth !== undefined) {
    registerAuth(app, { keys: auth.keys, exemptPaths: auth.exemptPaths, failures: new AuthFailures(auth.failureLimit ?? 20) });
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
    const route = request.routeOptions.url ?? 'unmatched';
    service.metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const code = answeredErrorCode(reply);
    if (code !== undefined) service.metrics.errorAnswered(code, route);
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
  if (repository !== undefined) await app.register(modelRoutes(repository, store, options.adoptVersion));
  if (options.training !== undefined && store !== undefined && repository !== undefined) {
    await app.register(trainingRoutes({ ...options.training, store, repository, service }));
  }
  if (options.reviews !== undefined && store !== undefined) await app.register(reviewRoutes(options.reviews, store));
  if (options.reload !== undefined) await app.register(adminRoutes(options.reload));
  const frontEnd = options.frontEnd;
  // Who created each job, so WebSocket subscribe/cancel reach only one's own.
  const jobOwners = new JobOwners();
  if (frontEnd !== undefined) {
    // One file per job, bounded by MAX_UPLOAD_BYTES; its type is sniffed from its bytes later.
    await app.register(multipart, {
      limits: { fileSize: config.maxUploadBytes, files: 1, fields: 16, parts: 17, fieldSize: config.bodyLimitBytes },
      throwFileSizeLimit: true,
    });
    await app.register(processRoutes(frontEnd, jobOwners));
  }
  const extra = frontEnd === undefined ? [] : [wsJobMessages(frontEnd, jobOwners)];
  await app.register(async (scoped) => registerWsRoute(scoped, service, config, extra));
  return app;
}
