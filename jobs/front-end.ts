import { freemem } from 'node:os';
import { type FastifyBaseLogger } from 'fastify';
import { type BatchReply } from '../batcher/types.js';
import { readJobFacts } from './media/job-facts.js';
import { planJob } from './planning/plan-job.js';
import { type Registry } from 'prom-client';
import { checkRequested } from '../capabilities/check-requested.js';
import { CapserveError } from '../core/errors.js';
import { type JobMetrics, registerJobMetrics } from './job-metrics.js';
import {
  isMediaCapability,
  type JobEvent,
  type JobPlan,
  type JobQueue,
  type JobRecord,
  mediaCapabilities,
  type Priority,
  type QueueName,
  type TextService,
  type WorkerInfo,
} from './types.js';

/** A `/process` job as it arrives: text, or one uploaded file, with what to do with it. */
export interface ProcessInput {
  readonly text?: string;
  readonly file?: Buffer;
  readonly fileName?: string;
  readonly capabilities: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly priority: Priority;
}

export type ProcessOutcome =
  | { readonly kind: 'inline'; readonly plan: JobPlan; readonly reply: BatchReply }
  | { readonly kind: 'queued'; readonly plan: JobPlan; readonly job: JobRecord };

export interface ProcessFrontEndOptions {
  readonly service: TextService;
  /** Where the job metrics are registered (the service's registry, so /metrics has them). */
  readonly metricsRegistry: Registry;
  readonly queues: ReadonlyMap<QueueName, JobQueue>;
  /** Workers other than this process's own (remote BullMQ workers), for routing. */
  readonly remoteWorkers: () => Promise<readonly WorkerInfo[]>;
  /** This process's own queue consumers, with their live load. */
  readonly localWorkers: () => readonly WorkerInfo[];
  readonly gpuAvailable: boolean;
  readonly maxInlineTokens: number;
  readonly jobAttempts: number;
  readonly logger: FastifyBaseLogger;
}

/**
 * The `/process` front-end: reads the facts of a job from its content, plans and
 * routes it, then runs small text inline through the batcher or puts the job on a CPU queue.
 */
export class ProcessFrontEnd {
  readonly #options: ProcessFrontEndOptions;
  readonly #metrics: JobMetrics;

  constructor(options: ProcessFrontEndOptions) {
    this.#options = options;
    this.#metrics = registerJobMetrics(options.metricsRegistry, options.queues);
  }

  async submit(input: ProcessInput, signal?: AbortSignal): Promise<ProcessOutcome> {
    const { service, queues, logger } = this.#options;
    if (service.phase === 'stopping' || service.phase === 'stopped') throw new CapserveError('SHUTTING_DOWN');
    if (!service.ready) throw new CapserveError('NOT_READY');
    if ((input.text === undefined) === (input.file === undefined)) {
      throw new CapserveError('VALIDATION_ERROR', 'give exactly one of "text" or a file');
    }
    this.#checkCapabilities(input.capabilities);
    const facts = await readJobFacts({
      ...(input.text === undefined ? {} : { text: input.text }),
      ...(input.file === undefined ? {} : { file: input.file }),
      capabilities: [...input.capabilities],
      options: { ...input.options },
    });
    const workers = [this.#batcherWorker(), ...this.#options.localWorkers(), ...(await this.#options.remoteWorkers())];
    const plan = planJob(facts, {
      gpuAvailable: this.#options.gpuAvailable,
      workers,
      limits: { maxInlineTokens: this.#options.maxInlineTokens },
    });
    logger.info({ facts: { ...facts, options: undefined }, plan }, 'job planned');
    this.#metrics.routed(plan.routing.route);

    const media = input.capabilities.filter(isMediaCapability);
    if (plan.routing.route === 'inline' && input.text !== undefined && media.length === 0) {
      const reply = await service.analyse({ texts: [input.text], capabilities: input.capabilities, priority: input.priority, ...(signal ? { signal } : {}) });
      return { kind: 'inline', plan, reply };
    }
    const queueName: QueueName = plan.routing.route === 'inline' ? 'cpu_standard' : plan.routing.route;
    const queue = queues.get(queueName);
    if (queue === undefined) throw new CapserveError('INTERNAL_ERROR', `queue ${queueName} is not configured`);
    const job = await queue.add(
      {
        kind: facts.kind,
        mediaType: facts.mediaType,
        capabilities: [...input.capabilities],
        options: { ...input.options },
        ...(input.text === undefined ? {} : { text: input.text }),
        ...(input.file === undefined ? {} : { fileBase64: input.file.toString('base64') }),
        ...(input.fileName === undefined ? {} : { fileName: input.fileName }),
      },
      { priority: input.priority, attempts: this.#options.jobAttempts },
    );
    logger.info({ jobId: job.id, queue: queueName }, 'job queued');
    return { kind: 'queued', plan, job };
  }

  async get(id: string): Promise<JobRecord> {
    for (const queue of this.#options.queues.values()) {
      const record = await queue.get(id);
      if (record !== undefined) return record;
    }
    throw new CapserveError('JOB_NOT_FOUND', `no job ${id}`);
  }

  async cancel(id: string): Promise<JobRecord> {
    const record = await this.get(id);
    const queue = this.#options.queues.get(record.queue);
    if (queue === undefined || !(await queue.cancel(id))) {
      throw new CapserveError('JOB_FINISHED', `job ${id} has already finished (${record.status})`, { details: { status: record.status } });
    }
    return this.get(id);
  }

  /** Streams a job's events; the returned function stops them. */
  async subscribe(id: string, listener: (event: JobEvent) => void): Promise<() => void> {
    const record = await this.get(id);
    const queue = this.#options.queues.get(record.queue);
    if (queue === undefined) throw new CapserveError('JOB_NOT_FOUND', `no job ${id}`);
    return queue.subscribe(id, listener);
  }

  /** Capabilities are text capabilities of the registry or the media ones (ocr, document, metadata). */
  #checkCapabilities(names: readonly string[]): void {
    checkRequested(names, [...this.#options.service.capabilityNames(), ...mediaCapabilities]);
  }

  /** The inline batcher as a routing candidate. */
  #batcherWorker(): WorkerInfo {
    const { service } = this.#options;
    return {
      id: 'batcher',
      queue: 'inline',
      device: this.#options.gpuAvailable ? 'cuda' : 'cpu',
      capabilities: ['text', ...service.capabilityNames()],
      freeMemoryMb: Math.round(freemem() / 2 ** 20),
      load: service.load(),
    };
  }
}
