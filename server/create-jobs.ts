import { freemem } from 'node:os';
import { type FastifyBaseLogger } from 'fastify';
import { type Redis } from 'ioredis';
import { settlesWithin } from '../core/time.js';
import { createJobProcessor, mediaCapabilities } from '../jobs/processors/job-processor.js';
import { BullmqJobQueue } from '../jobs/queue/bullmq-queue.js';
import { type BullmqWorkerHandle, startBullmqWorker } from '../jobs/queue/bullmq-worker.js';
import { MemoryJobQueue } from '../jobs/queue/memory-queue.js';
import { openRedis } from '../jobs/queue/redis-connection.js';
import { type JobProcessor, type JobQueue, mediaKinds, type QueueName, queueNames, type WorkerInfo } from '../jobs/types.js';
import { WorkerRegistry } from '../jobs/workers/worker-registry.js';
import { loadPaddleOcr, type OcrEngine } from '../models/ocr/paddle-ocr.js';
import { type ServerConfig } from './config.js';
import { ProcessFrontEnd } from './process-front-end.js';
import { type CapserveService } from './service.js';

export type JobsConfig = Pick<
  ServerConfig,
  | 'redisUrl'
  | 'queueConcurrency'
  | 'queueLocalWorkers'
  | 'jobAttempts'
  | 'jobBackoffMs'
  | 'jobResultTtlMs'
  | 'workerId'
  | 'maxInlineTokens'
  | 'maxBatchTexts'
  | 'maxTextsPerRequest'
  | 'device'
>;

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

/** Runs queued jobs in this process: one processor, with the live load each queue reports for routing. */
export class LocalJobRunner {
  readonly #service: CapserveService;
  readonly #config: JobsConfig;
  readonly #running = new Map<QueueName, number>();
  #ocr: Promise<OcrEngine> | undefined;
  readonly processor: JobProcessor;

  constructor(service: CapserveService, config: JobsConfig) {
    this.#service = service;
    this.#config = config;
    this.processor = createJobProcessor({
      classify: (texts, capabilities, signal) => service.classify({ texts, capabilities, signal }),
      // OCR loads on the first image job (about 0.3 s) and stays resident after it.
      ocr: () => {
        this.#ocr ??= loadPaddleOcr().catch((error: unknown) => {
          this.#ocr = undefined;
          throw error;
        });
        return this.#ocr;
      },
      // About four characters per token; a chunk is what /process would still take inline.
      chunkChars: config.maxInlineTokens * 4,
      groupSize: Math.min(config.maxBatchTexts, config.maxTextsPerRequest),
    });
  }

  /** The processor for one queue, counting its running jobs. */
  processorFor(queue: QueueName): JobProcessor {
    return async (payload, context) => {
      this.#running.set(queue, (this.#running.get(queue) ?? 0) + 1);
      try {
        return await this.processor(payload, context);
      } finally {
        this.#running.set(queue, (this.#running.get(queue) ?? 1) - 1);
      }
    };
  }

  /** This process as a worker of each queue, for routing and for the Redis worker registry. */
  workers(): WorkerInfo[] {
    const capabilities = [...mediaKinds.filter((kind) => kind !== 'other'), ...this.#service.capabilityNames(), ...mediaCapabilities];
    const freeMemoryMb = Math.round(freemem() / 2 ** 20);
    return queueNames.map((queue) => ({
      id: `${this.#config.workerId}:${queue}`,
      queue,
      device: this.#config.device === 'cuda' ? 'cuda' : 'cpu',
      capabilities,
      freeMemoryMb,
      load: (this.#running.get(queue) ?? 0) / this.#config.queueConcurrency,
    }));
  }

  async close(): Promise<void> {
    const ocr = await this.#ocr?.catch(() => undefined);
    await ocr?.close();
  }
}

/**
 * The `/process` side of the server: in-process queues by default; with REDIS_URL, BullMQ queues
 * that any number of `npm run worker` processes consume (and this process too, unless
 * QUEUE_LOCAL_WORKERS=0), with workers found through heartbeats in Redis.
 */
export function createJobs(service: CapserveService, config: JobsConfig, logger: FastifyBaseLogger): Jobs {
  const runner = new LocalJobRunner(service, config);
  const onError = (error: unknown): void => logger.warn({ err: error }, 'job queue error');
  const retry = { attempts: config.jobAttempts, backoffMs: config.jobBackoffMs, resultTtlMs: config.jobResultTtlMs };
  const common = {
    service,
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

export interface LocalWorkers {
  /** Withdraws from the registry, then waits up to `graceMs` for running jobs; jobs still running stall back to the queue. */
  close(graceMs: number): Promise<void>;
}

/** BullMQ consumers for every queue in this process, announced in the worker registry. */
export function startLocalWorkers(
  runner: LocalJobRunner,
  registry: WorkerRegistry,
  options: { readonly redisUrl: string; readonly concurrency: number; readonly workerId: string; readonly onError: (error: unknown) => void },
): LocalWorkers {
  const handles: BullmqWorkerHandle[] = queueNames.map((name) =>
    startBullmqWorker(name, runner.processorFor(name), {
      redisUrl: options.redisUrl,
      concurrency: options.concurrency,
      workerName: options.workerId,
      onError: options.onError,
    }),
  );
  const stopBeats = queueNames.map((queue) =>
    registry.heartbeat(() => runner.workers().find((worker) => worker.queue === queue) as WorkerInfo),
  );
  return {
    async close(graceMs) {
      await Promise.all(stopBeats.map((stop) => stop()));
      const closing = Promise.all(handles.map((handle) => handle.close()));
      if (!(await settlesWithin(closing, graceMs))) options.onError(new Error(`workers still busy after ${graceMs} ms; their jobs return to the queue when their locks expire`));
    },
  };
}
