import { pino } from 'pino';
import { loadCapabilitiesConfig } from '../capabilities/load-config.js';
import { openRedis } from '../jobs/queue/redis-connection.js';
import { WorkerRegistry } from '../jobs/workers/worker-registry.js';
import { loadConfig } from './config.js';
import { LocalJobRunner, startLocalWorkers } from '../jobs/local-runner.js';
import { registerJobAttemptMetrics } from '../jobs/job-metrics.js';
import { allOf, logJobAttempts } from '../jobs/log-job-attempts.js';
import { createService, openConfiguredSpeech } from './create-service.js';
import { handleCommandLine } from './command-line.js';
import { startTracing } from './tracing.js';
import { buildWorkerApp, type QueueConsumersState } from './worker-http.js';
import { CapserveError, messageOf } from '../core/errors.js';

/**
 * `npm run worker`: a process that serves the CPU queues (cpu_standard, gpu_fallback) from Redis
 * on this machine. It loads the same models as the server (long texts and extracted text go
 * through its own batcher), announces itself for routing, and on SIGTERM/SIGINT stops taking
 * jobs and lets running ones finish for SHUTDOWN_GRACE_MS; jobs it could not finish go back to
 * the queue when their locks expire and another worker runs them. Unless WORKER_PORT is 0 it
 * listens on HOST:WORKER_PORT from the start for `/health`, `/health/ready` (200 once the models
 * are loaded and the queue consumers run, 503 again from the moment shutdown begins) and
 * `/metrics`; the listener closes last, so readiness shows the drain.
 */
async function main(): Promise<void> {
  const exit = handleCommandLine(process.argv.slice(2), { command: 'npm run worker', summary: 'capserve worker: serves the /process CPU queues on Redis (REDIS_URL).' });
  if (exit !== undefined) {
    process.exitCode = exit;
    return;
  }
  const config = loadConfig();
  if (config.redisUrl === undefined) throw new CapserveError('CONFIG_INVALID', 'REDIS_URL must be set: a worker serves the queues that the server puts on Redis');
  const logger = pino({ level: config.logLevel });
  // A job's span continues the trace of the request that queued it (its payload carries the traceparent).
  const tracing = startTracing(config, logger);
  const capabilities = await loadCapabilitiesConfig(config.capabilitiesConfig);
  const service = createService(config, capabilities, logger);
  let queues: QueueConsumersState = 'starting';
  // Listening before the models load: liveness answers and readiness says NOT_READY meanwhile.
  const http =
    config.workerPort === 0
      ? undefined
      : await buildWorkerApp({
          service,
          queues: () => queues,
          logger,
          auth: { keys: config.apiKeys, exemptPaths: config.authExemptPaths, failureLimit: config.authFailureLimit },
        });
  await http?.listen({ host: config.host, port: config.workerPort });
  await service.start();
  // The same speech backend as the server: a worker without one does not list `transcribe`.
  const { holder: speech } = await openConfiguredSpeech(config, capabilities, logger);

  const onError = (error: unknown): void => logger.warn({ err: error }, 'queue worker error');
  const redis = openRedis(config.redisUrl, { connectionName: `capserve:registry:${config.workerId}` });
  redis.on('error', onError);
  // Counted on the service's registry, which /metrics serves, and logged, as the server does.
  const runner = new LocalJobRunner(service, config, allOf(registerJobAttemptMetrics(service.metrics.registry), logJobAttempts(logger)), speech);
  const workers = startLocalWorkers(runner, new WorkerRegistry(redis), {
    redisUrl: config.redisUrl,
    concurrency: config.queueConcurrency,
    workerId: config.workerId,
    onError,
    lockDurationMs: config.queueLockMs,
    stalledIntervalMs: config.queueStalledCheckMs,
  });
  queues = 'running';
  logger.info({ worker: config.workerId, queues: runner.workers().map((w) => w.queue), concurrency: config.queueConcurrency }, 'worker ready');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down');
    // Not ready from here on (SHUTTING_DOWN); capserve_ready drops to 0 with it.
    queues = 'stopping';
    service.drain();
    await workers.close(config.shutdownGraceMs);
    await runner.close();
    await service.stop(config.shutdownGraceMs);
    await redis.quit().catch(onError);
    await tracing.shutdown();
    // Last: probes and scrapes are answered through the whole drain.
    await http?.close();
    logger.info('worker stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`capserve worker failed to start: ${messageOf(error)}\n`);
  process.exit(1);
});
