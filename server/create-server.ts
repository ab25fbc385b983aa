import { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ModelRepository } from '../models/repository/model-repository.js';
import { ReviewQueue } from '../review/review-queue.js';
import { openStore } from '../store/open-store.js';
import { type Store } from '../store/types.js';
import { type ModelJobs } from '../training/model-jobs.js';
import { buildApp } from './app.js';
import { type ServerConfig } from './config.js';
import { createJobs } from '../jobs/create-jobs.js';
import { type SpeechHolder } from '../models/speech/speech-holder.js';
import { type CapabilitySources, createService, loadConfiguredCapabilities, loadersFor, openConfiguredSpeech, reloadCapabilities, type ReloadResult } from './create-service.js';
import { type LifecycleMetrics, registerLifecycleMetrics } from './lifecycle-metrics.js';
import { createModelJobs } from './model-lifecycle.js';
import { versionAdopter } from './adopt-version.js';
import { pinVersion } from '../capabilities/pin-version.js';
import { type CapserveService } from '../engine/service.js';
import { watchFile } from './watch-file.js';
import { startTracing } from './tracing.js';

/** The whole server, wired: listen on `app`, then `start()`; `stop()` drains and closes everything. */
export interface Server {
  readonly app: FastifyInstance;
  readonly service: CapserveService;
  readonly store: Store;
  readonly reviews: ReviewQueue;
  readonly modelJobs: ModelJobs;
  /** The speech-to-text backend `/process` transcribes with; a reload replaces it when the `speech` section changes. */
  readonly speech: SpeechHolder;
  /** Reloads the capabilities (file plus registered ones) and the speech backend, one reload at a time. */
  reload(): Promise<ReloadResult>;
  /** Loads the models, starts the queues and the review sweep, and takes the model jobs a stopped process left unfinished. */
  start(): Promise<void>;
  stop(graceMs: number): Promise<void>;
}

/**
 * Opens the store (SQLite, or PostgreSQL under DATABASE_URL), reads the capabilities file plus
 * the registered capabilities, and wires the service, the queues, the model jobs, the review
 * queue and the HTTP API over them. Nothing is loaded or listening yet.
 */
export async function createServer(config: ServerConfig, logger: FastifyBaseLogger): Promise<Server> {
  // Off unless an OTLP endpoint is configured; installed before any route can start a span.
  const tracing = startTracing(config, logger);
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    sqlitePath: config.sqlitePath,
    ...(config.databaseSchema === undefined ? {} : { postgresSchema: config.databaseSchema }),
  });
  const repository = new ModelRepository(config.modelRepository);
  const sources: CapabilitySources = { repository, registered: () => store.listCapabilities() };
  const capabilities = await loadConfiguredCapabilities(config, sources, (message) => logger.warn(message));
  // A speech backend that does not load leaves transcription unavailable with its reason; the server still starts.
  const speechTarget = await openConfiguredSpeech(config, capabilities, logger);
  const speech = speechTarget.holder;
  // The service's registry also carries the review and model-job metrics; the queue exists before the service it observes.
  let metrics: LifecycleMetrics | undefined;
  const reviews = new ReviewQueue({
    store,
    timeoutMs: config.reviewTimeoutMs,
    onError: (error) => logger.warn({ err: error }, 'review queue write failed'),
    onEvent: (action) => metrics?.reviewEvent(action),
  });
  const service = createService(config, capabilities, logger, loadersFor(config), sources, (request, reply, specs) => reviews.offer(request, reply, specs));
  metrics = registerLifecycleMetrics(service.metrics.registry);
  // One reload or version adoption at a time, whoever asks (the admin route, the file watch, a
  // registration, a new default), so none sees another's half-made change.
  let reloading: Promise<unknown> = Promise.resolve();
  const exclusively = <T>(task: () => Promise<T>): Promise<T> => {
    const next = reloading.then(task);
    reloading = next.catch(() => undefined);
    return next;
  };
  const reload = (): Promise<ReloadResult> => exclusively(() => reloadCapabilities(service, config, sources, loadersFor(config), {}, speechTarget));
  const adoptVersion = versionAdopter({
    repository,
    store,
    exclusively,
    reload: (change) => reloadCapabilities(service, config, sources, loadersFor(config), change, speechTarget),
    readers: async (pin) => pinVersion(await loadConfiguredCapabilities(config, sources, () => {}), pin).readers,
  });
  const modelJobs = createModelJobs(service, store, repository, adoptVersion, config, logger, (job) => metrics?.jobFinished(job));
  // Without Redis the store is the record of /process jobs, so a restart keeps them.
  const jobs = createJobs(service, service.metrics.registry, config, logger, { journal: store, leaseMs: config.jobLeaseMs }, speech);
  const app = await buildApp({
    service,
    config,
    logger,
    frontEnd: jobs.frontEnd,
    auth: { keys: config.apiKeys, exemptPaths: config.authExemptPaths, failureLimit: config.authFailureLimit },
    corsOrigins: config.corsOrigins,
    rateLimit: {
      max: config.rateLimitMax,
      windowMs: config.rateLimitWindowMs,
      exemptPaths: config.authExemptPaths,
      ...(config.redisUrl === undefined ? {} : { redis: { url: config.redisUrl, onFailure: config.rateLimitRedisFail } }),
    },
    repository,
    adoptVersion,
    reload,
    store,
    training: { jobs: modelJobs, maxExamples: config.maxTrainingExamples },
    reviews,
  });
  let stopWatching = (): void => {};
  return {
    app,
    service,
    store,
    reviews,
    modelJobs,
    speech,
    reload,
    async start() {
      await service.start();
      await jobs.start();
      reviews.start();
      const resumed = await modelJobs.start();
      if (resumed > 0) logger.info({ jobs: resumed }, 'model jobs left unfinished by a stopped process queued again');
      if (config.capabilitiesWatch) {
        stopWatching = watchFile(config.capabilitiesConfig, () => {
          reload().then(
            (result) => logger.info({ capabilities: result.capabilities, speech: result.speech }, 'capabilities file changed: reloaded'),
            (error: unknown) => logger.error({ err: error }, 'capabilities file changed: reload rejected, the running configuration stays'),
          );
        });
      }
    },
    async stop(graceMs) {
      stopWatching();
      // Keep serving while the load balancer's health checks see 503 and take this replica out
      // of rotation; closing the listener first would reset connections it still routes to us.
      if (config.shutdownDelayMs > 0 && service.phase === 'ready') {
        service.drain();
        logger.info({ delayMs: config.shutdownDelayMs }, 'draining: readiness answers 503 until the listener closes');
        await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      }
      // At the end of the grace every connection still open is closed, so a slow client (headers
      // or a body trickled in, below HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS) cannot
      // hold the process past it.
      const cutOff = setTimeout(() => app.server.closeAllConnections(), graceMs);
      cutOff.unref();
      const closing = app.close();
      // Jobs first: their text runs through the batcher, which must still be up to finish them.
      await Promise.all([jobs.close(graceMs), modelJobs.close(graceMs)]);
      await reviews.close();
      await service.stop(graceMs);
      // close() ends the connections idle when it began; a keep-alive connection whose request
      // finished during the drain is idle only now, and would hold the server open until its
      // keep-alive timeout (72 s) ran out.
      app.server.closeIdleConnections();
      await closing;
      clearTimeout(cutOff);
      await store.close();
      // Last, so the drain's own spans are exported too; bounded, so a dead collector cannot hold the exit.
      await tracing.shutdown();
    },
  };
}
