import { tmpdir } from 'node:os';
import path from 'node:path';
import { type FastifyBaseLogger } from 'fastify';
import { type Redis } from 'ioredis';
import { type Registry } from 'prom-client';
import { ProcessFrontEnd } from './front-end.js';
import { registerJobAttemptMetrics } from './job-metrics.js';
import { allOf, logJobAttempts } from './log-job-attempts.js';
import { LocalJobRunner, type LocalWorkers, startLocalWorkers } from './local-runner.js';
import { BullmqJobQueue } from './queue/bullmq-queue.js';
import { DurableJobQueue } from './queue/durable-queue.js';
import { type JobJournal } from './queue/job-journal.js';
import { MemoryJobQueue } from './queue/memory-queue.js';
import { openRedis } from './queue/redis-connection.js';
import { type JobQueue, type JobsSettings, type JobsSpeech, type QueueName, queueNames, type SpeechSource, type TextService } from './types.js';
import { WorkerRegistry } from './workers/worker-registry.js';
import { Spool } from './spool.js';

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
/** Where in-process jobs are recorded so a restart keeps them (the server passes its store). */
export interface JobsPersistence {
  readonly journal: JobJournal;
  /** JOB_LEASE_MS: how long this process's claim on its unfinished jobs lasts unrenewed. */
  readonly leaseMs: number;
}

export function createJobs(
  service: TextService,
  metricsRegistry: Registry,
  config: JobsSettings,
  logger: FastifyBaseLogger,
  persistence?: JobsPersistence,
  /** The speech-to-text recognizer for audio and video (closed with the jobs), or why there is none; a source when a reload may change it. */
  speech?: JobsSpeech | SpeechSource,
): Jobs {
  const runner = new LocalJobRunner(service, config, allOf(registerJobAttemptMetrics(metricsRegistry), logJobAttempts(logger)), speech);
  const onError = (error: unknown): void => logger.warn({ err: error }, 'job queue error');
  const retry = { attempts: config.jobAttempts, backoffMs: config.jobBackoffMs, resultTtlMs: config.jobResultTtlMs };
  const spool = new Spool({ dir: config.spoolDir ?? path.join(tmpdir(), 'capserve-spool'), maxBytes: config.maxSpoolBytes ?? 2 ** 30 });
  const common = {
    service,
    metricsRegistry,
    gpuAvailable: config.device === 'cuda',
    maxInlineTokens: config.maxInlineTokens,
    jobAttempts: config.jobAttempts,
    mediaFacts: { limits: runner.limits, media: runner.media },
    maxQueuedJobs: config.maxQueuedJobs ?? 256,
    spool,
    logger,
  };

  if (config.redisUrl === undefined) {
    const queueOptions = { ...retry, concurrency: config.queueConcurrency, maxResultBytes: config.maxResultBytes ?? 256 * 2 ** 20, onError };
    // With a journal the store is the record of every job (a restart keeps them); without, memory only.
    const durableQueues =
      persistence === undefined
        ? []
        : queueNames.map(
            (name) =>
              new DurableJobQueue(name, runner.processorFor(name), {
                ...queueOptions,
                journal: persistence.journal,
                leaseMs: persistence.leaseMs,
                owner: config.workerId,
                // A resumed upload's file becomes this process's, released when the job ends.
                inputAvailable: async (payload) => payload.filePath === undefined || (await spool.adopt(payload.filePath)),
                onResumed: (job, payload) => {
                  if (payload.filePath !== undefined) frontEnd.releaseWhenEnded(name, job, { path: payload.filePath, bytes: 0 });
                },
              }),
          );
    const memoryQueues: (MemoryJobQueue | DurableJobQueue)[] =
      persistence === undefined ? queueNames.map((name) => new MemoryJobQueue(name, runner.processorFor(name), queueOptions)) : durableQueues;
    const frontEnd = new ProcessFrontEnd({
      ...common,
      fileTransport: 'path',
      keepFilesAtShutdown: persistence !== undefined,
      queues: new Map<QueueName, JobQueue>(memoryQueues.map((queue) => [queue.name, queue])),
      localWorkers: () => runner.workers(),
      remoteWorkers: async () => [],
    });
    return {
      frontEnd,
      start: async () => {
        // Resume first: the spool adopts the files of resumed jobs, and opening it then sweeps only true orphans.
        const resumed = (await Promise.all(durableQueues.map((queue) => queue.start()))).reduce((sum, count) => sum + count, 0);
        await spool.open();
        if (resumed > 0) logger.info({ jobs: resumed }, 'jobs left unfinished by a stopped process queued again');
      },
      close: async (graceMs) => {
        await Promise.all(memoryQueues.map((queue) => queue.close({ graceMs })));
        await runner.close();
        await spool.close({ keep: persistence !== undefined });
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
    fileTransport: 'bytes',
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
      await spool.open();
      await Promise.all(bullQueues.map((queue) => queue.ready()));
      if (config.queueLocalWorkers && local === undefined) {
        local = startLocalWorkers(runner, registry, {
          redisUrl,
          concurrency: config.queueConcurrency,
          workerId: config.workerId,
          onError,
          ...(config.queueLockMs === undefined ? {} : { lockDurationMs: config.queueLockMs }),
          ...(config.queueStalledCheckMs === undefined ? {} : { stalledIntervalMs: config.queueStalledCheckMs }),
        });
      }
    },
    close: async (graceMs) => {
      await local?.close(graceMs);
      await Promise.all(bullQueues.map((queue) => queue.close()));
      await registryConnection.quit().catch(onError);
      await runner.close();
      await spool.close();
    },
  };
}

