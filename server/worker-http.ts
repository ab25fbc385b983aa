import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { CapserveError, type ErrorCode } from '../core/errors.js';
import { type CapserveService } from '../engine/service.js';
import { type ApiKeys } from './api-keys.js';
import { AuthFailures } from './auth-failures.js';
import { registerAuth } from './authenticate.js';
import { answerErrors, capserveErrorShape } from './fastify-errors.js';
import { liveness, metricsText, serviceReadiness, type ServiceReadiness } from './routes/probe-answers.js';

/** Where a worker's queue consumers stand: not started yet, taking jobs, or no longer taking any (shutdown began). */
export type QueueConsumersState = 'starting' | 'running' | 'stopping';

/** A queue worker's `GET /health/ready`: the server's readiness answer, plus its queue consumers and, while not ready, the coded error. */
export interface WorkerReadiness extends ServiceReadiness {
  readonly queues: QueueConsumersState;
  /** Present while not ready: NOT_READY (loading, or a model reloading) or SHUTTING_DOWN, as every error response carries it. */
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

/**
 * Ready once the models are loaded and the queue consumers run; from the moment shutdown begins
 * (the consumers stop taking jobs and drain) it answers SHUTTING_DOWN until the process exits.
 */
export function workerReadiness(service: CapserveService, queues: QueueConsumersState): WorkerReadiness {
  const served = serviceReadiness(service);
  const stopping = queues === 'stopping' || served.phase === 'draining' || service.phase === 'stopping' || service.phase === 'stopped';
  // The service is ready before its consumers start (until they do, the worker still starts) and
  // stays `draining` once drained; a stopping or stopped service says so.
  const phase =
    service.phase === 'stopping' || service.phase === 'stopped' ? service.phase : served.phase === 'ready' && queues !== 'running' ? (stopping ? 'draining' : 'starting') : served.phase;
  if (served.ready && queues === 'running') return { ...served, phase, queues };
  const refusal = stopping ? new CapserveError('SHUTTING_DOWN', 'The worker is shutting down: it takes no new jobs and finishes the running ones.') : notReady(service, queues);
  return { ...served, ready: false, phase, queues, error: { code: refusal.code, message: refusal.message } };
}

function notReady(service: CapserveService, queues: QueueConsumersState): CapserveError {
  if (service.phase === 'starting') return new CapserveError('NOT_READY', 'The worker is still loading its models.');
  if (queues === 'starting') return new CapserveError('NOT_READY', 'The models are loaded; the queue consumers are starting.');
  return new CapserveError('NOT_READY', 'A model is reloading a crashed instance.');
}

export interface WorkerHttpOptions {
  readonly service: CapserveService;
  /** Read at each readiness probe. */
  readonly queues: () => QueueConsumersState;
  readonly logger: FastifyBaseLogger;
  /**
   * As the server authenticates (API_KEYS, AUTH_EXEMPT_PATHS, AUTH_FAILURE_LIMIT): by default all
   * three routes are exempt, and an operator who takes `/metrics` off that list protects it here too.
   */
  readonly auth?: { readonly keys: ApiKeys; readonly exemptPaths: readonly string[]; readonly failureLimit?: number };
}

/**
 * The queue worker's own small HTTP listener (`npm run worker`, WORKER_PORT): `/health`
 * (liveness), `/health/ready` (readiness, see {@link workerReadiness}) and `/metrics` (the
 * service's registry: process and build metrics, batches, models, and the job attempts the
 * worker ran), answered as the server answers them. No API routes: jobs reach it through the
 * queues only. The caller listens and closes.
 */
export async function buildWorkerApp(options: WorkerHttpOptions): Promise<FastifyInstance> {
  const { service, queues, auth } = options;
  const app = Fastify({
    loggerInstance: options.logger,
    // Probes and scrapes every few seconds: no request lines in the worker's log.
    logController: new LogController({ disableRequestLogging: true }),
  });
  answerErrors(app, capserveErrorShape, { notFound: true });
  if (auth !== undefined) registerAuth(app, { keys: auth.keys, exemptPaths: auth.exemptPaths, failures: new AuthFailures(auth.failureLimit ?? 20) });

  app.get('/health', async () => liveness(service));
  app.get('/health/ready', async (_request, reply) => {
    const readiness = workerReadiness(service, queues());
    reply.code(readiness.ready ? 200 : 503);
    return readiness;
  });
  app.get('/metrics', async (_request, reply) => metricsText(service.metrics.registry, reply));
  return app;
}
