import { type FastifyBaseLogger } from 'fastify';
import { type Redis } from 'ioredis';
import { type Registry } from 'prom-client';
import { ProcessFrontEnd } from './front-end.js';
import { LocalJobRunner, type LocalWorkers, startLocalWorkers } from './local-runner.js';
import { BullmqJobQueue } from './queue/bullmq-queue.js';
import { MemoryJobQueue } from './queue/memory-queue.js';
import { openRedis } from './queue/redis-connection.js';
import { type JobQueue, type JobsSettings, type QueueName, queueNames, type TextService } from './types.js';
import { WorkerRegistry } from './workers/worker-registry.js';

export interface Jobs {
  readonly frontEnd: ProcessFrontEnd;
  /**
   * Call once the service is ready: waits for the queues to answer (Redis reachable) and, on
   * Redis, starts this process's workers, so no job is taken before the models are loaded.
   */
  start(): Promise<void>;
  /**
   * Stops taking jobs and lets running ones finish for up to `graceMs`. In-process jobs that did
   * not finish fail with SHUTTING_DOWN; on Redis they stay queued (or stall) for another worker.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * The `/process` side of the server: in-process queues by default; with REDIS_URL, BullMQ queues
 * that any number of `npm run worker` processes consume (and this process too, unless
 * QUEUE_LOCAL_WORKERS=0), with workers found through heartbeats in Redis.
 */
export function createJobs(service: TextService, metricsRegistry: Registry, config: JobsSettings, logger: FastifyBaseLogger): Jobs {
  const runner = new LocalJobRunner(service, config);
  const onError = (error: unknown): void => logger.warn({ err: error }, 'job queue error');
  const retry = { attempts: config.jobAttempts, backoffMs: config.jobBackoffMs, resultTtlMs: config.jobResultTtlMs };
  const common = {
    service,
    metricsRegistry,
    gpuAvailable: config.device === 'cuda',
    maxInlineTokens: config.maxInlineTokens,
    jobAttempts: config.jobAttempts,
    logger,
  };

  if (config.redisUrl === undefined) {
    const memoryQueues = queueNames.map(
      (name) => new MemoryJobQueue(name, runner.processorFor(name), { ...retry, concurrency: config.queueConcurrency, onError }),
    );
    const frontEnd = new ProcessFrontEnd({
      ...common,
      queues: new Map<QueueName, JobQueue>(memoryQueues.map((queue) => [queue.name, queue])),
      localWorkers: () => runner.workers(),
      remoteWorkers: async () => [],
    });
    return {
      frontEnd,
      start: async () => {},
      close: async (graceMs) => {
        await Promise.all(memoryQueues.map((queue) => queue.close({ graceMs })));
        await runner.close();
      },
    };
  }

  const redisUrl = config.redisUrl;
  const bullQueues = queueNames.map((name) => new BullmqJobQueue(name, { ...retry, redisUrl, onError }));
  const registryConnection: Redis = openRedis(redisUrl, { connectionName: `capserve:registry:${config.workerId}` });
  registryConnection.on('error', onError);
  const registry = new WorkerRegistry(registryConnection);
  let local: LocalWorkers | undefined;
  const ownIds = new Set(config.queueLocalWorkers ? runner.workers().map((worker) => worker.id) : []);
  const frontEnd = new ProcessFrontEnd({
    ...common,
    queues: new Map<QueueName, JobQueue>(bullQueues.map((queue) => [queue.name, queue])),
    localWorkers: () => (local === undefined ? [] : runner.workers()),
    remoteWorkers: async () => {
      try {
        return (await registry.list()).filter((worker) => !ownIds.has(worker.id));
      } catch (error) {
        onError(error);
        return [];
      }
    },
  });
  return {
    frontEnd,
    start: async () => {
      await Promise.all(bullQueues.map((queue) => queue.ready()));
      if (config.queueLocalWorkers && local === undefined) {
        local = startLocalWorkers(runner, registry, { redisUrl, concurrency: config.queueConcurrency, workerId: config.workerId, onError });
      }
    },
    close: async (graceMs) => {
      await local?.close(graceMs);
      await Promise.all(bullQueues.map((queue) => queue.close()));
      await registryConnection.quit().catch(onError);
      await runner.close();
    },
  };
}

