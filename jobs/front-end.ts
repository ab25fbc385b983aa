import { readFile } from 'node:fs/promises';
import { freemem } from 'node:os';
import { type FastifyBaseLogger } from 'fastify';
import { type BatchReply } from '../batcher/types.js';
import { readJobFacts, type ReadFactsOptions } from './media/job-facts.js';
import { planJob } from './planning/plan-job.js';
import { type Registry } from 'prom-client';
import { checkRequested } from '../capabilities/check-requested.js';
import { CapserveError } from '../core/errors.js';
import { type JobMetrics, registerJobMetrics } from './job-metrics.js';
import { jobTraceField } from './job-trace.js';
import { type Spool, type SpooledFile } from './spool.js';
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

/**
 * A `/process` job as it arrives: text, or one uploaded file (already in the spool), with what
 * to do with it. `submit` owns the file from then on: it is deleted when the job ends, or at
 * once when the job is refused.
 */
export interface ProcessInput {
  readonly text?: string;
  readonly file?: SpooledFile;
  readonly fileName?: string;
  readonly capabilities: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
  readonly priority: Priority;
  /** The submitting HTTP request's id: carried by a queued job for its log lines. */
  readonly requestId?: string;
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
  /** Media caps checked before anything is decoded, and the worker threads PDF pages are counted in. @default none, this thread */
  readonly mediaFacts?: Pick<ReadFactsOptions, 'limits' | 'media'>;
  /** Jobs waiting or running on the queues, all together, before new ones get 429 OVERLOADED. */
  readonly maxQueuedJobs: number;
  /** Where uploads are streamed before they are submitted. */
  readonly spool: Spool;
  /** Whether the queues keep jobs cut short by shutdown for the next process (a store records them), so their files must stay. @default false */
  readonly keepFilesAtShutdown?: boolean;
  /**
   * How a queued job carries its file: `path` (in-process queues: the spooled file, deleted when
   * the job ends) or `bytes` (BullMQ: base64 in the job, since a worker may be on another machine;
   * the spooled file is deleted once the job is on the queue).
   */
  readonly fileTransport: 'path' | 'bytes';
  readonly logger: FastifyBaseLogger;
}

/** Retry-After of a refusal for a full queue: a job takes seconds, so about one job's time. */
const queueRetryAfterSeconds = 5;

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

  /** The spool uploads are streamed into (the route writes to it, then submits). */
  get spool(): Spool {
    return this.#options.spool;
  }

  /**
   * Refuses an upload before its body is read: while shutting down or loading, when
   * MAX_QUEUED_JOBS jobs wait or run, or when `bytes` (its Content-Length) would pass the spool's
   * budget; 429s carry a Retry-After.
   */
  async admitUpload(bytes: number): Promise<void> {
    this.#checkPhase();
    await this.#checkQueued();
    this.#options.spool.admit(bytes);
  }

  /** `logger`: the submitting request's, so the job's lines carry its request id. @default the front-end's logger */
  async submit(input: ProcessInput, signal?: AbortSignal, logger?: FastifyBaseLogger): Promise<ProcessOutcome> {
    const file = input.file;
    try {
      return await this.#submit(input, signal, logger ?? this.#options.logger);
    } catch (error) {
      if (file !== undefined) await this.#options.spool.release(file.path);
      throw error;
    }
  }

  async #submit(input: ProcessInput, signal: AbortSignal | undefined, logger: FastifyBaseLogger): Promise<ProcessOutcome> {
    const { service, queues } = this.#options;
    this.#checkPhase();
    if ((input.text === undefined) === (input.file === undefined)) {
      throw new CapserveError('VALIDATION_ERROR', 'give exactly one of "text" or a file');
    }
    this.#checkCapabilities(input.capabilities);
    // The file is in memory only while its facts are read; the queued job carries its path.
    const facts = await readJobFacts({
      ...(input.text === undefined ? {} : { text: input.text }),
      ...(input.file === undefined ? {} : { file: await readFile(input.file.path) }),
      ...(input.fileName === undefined ? {} : { fileName: input.fileName }),
      capabilities: [...input.capabilities],
      options: { ...input.options },
    }, { ...this.#options.mediaFacts, ...(signal ? { signal } : {}) });
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
    await this.#checkQueued();
    const file = input.file;
    const job = await queue.add(
      {
        kind: facts.kind,
        mediaType: facts.mediaType,
        capabilities: [...input.capabilities],
        options: { ...input.options },
        ...(input.text === undefined ? {} : { text: input.text }),
        ...(file === undefined ? {} : await this.#carry(file)),
        ...(input.fileName === undefined ? {} : { fileName: input.fileName }),
        ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
        ...jobTraceField(),
      },
      { priority: input.priority, attempts: this.#options.jobAttempts },
    );
    if (file !== undefined) this.#releaseWhenEnded(queue, job.id, file);
    logger.info({ jobId: job.id, queue: queueName }, 'job queued');
    return { kind: 'queued', plan, job };
  }

  async #carry(file: SpooledFile): Promise<{ filePath: string } | { fileBase64: string }> {
    if (this.#options.fileTransport === 'path') return { filePath: file.path };
    return { fileBase64: (await readFile(file.path)).toString('base64') };
  }

  /** Deletes a resumed job's spooled file (adopted by the spool) once the job ends, as for the jobs this process accepted. */
  releaseWhenEnded(queueName: QueueName, jobId: string, file: SpooledFile): void {
    const queue = this.#options.queues.get(queueName);
    if (queue !== undefined) this.#releaseWhenEnded(queue, jobId, file);
  }

  /** Deletes the spooled file once the job ends (completed, failed, cancelled, shut down); at once when the bytes travel in the job. */
  #releaseWhenEnded(queue: JobQueue, jobId: string, file: SpooledFile): void {
    const { spool, logger } = this.#options;
    const release = (): void => {
      spool.release(file.path).catch((error: unknown) => logger.warn({ err: error, jobId }, 'spooled file not deleted'));
    };
    if (this.#options.fileTransport === 'bytes') {
      release();
      return;
    }
    const stop = queue.subscribe(jobId, (event) => {
      if (event.type === 'progress') return;
      // A job cut short by shutdown stays queued in a store that keeps jobs; its file stays with it.
      if (this.#options.keepFilesAtShutdown === true && event.type === 'failed' && event.error.code === 'SHUTTING_DOWN') return;
      release();
      // The listener is dropped after a final event; the call only tidies up a late subscription.
      queueMicrotask(() => stop());
    });
  }

  #checkPhase(): void {
    const { service } = this.#options;
    if (service.phase === 'stopping' || service.phase === 'stopped') throw new CapserveError('SHUTTING_DOWN');
    if (!service.ready) throw new CapserveError('NOT_READY');
  }

  async #checkQueued(): Promise<void> {
    const { queues, maxQueuedJobs } = this.#options;
    const counts = await Promise.all([...queues.values()].map((queue) => queue.counts()));
    const queued = counts.reduce((sum, count) => sum + count.waiting + count.running, 0);
    if (queued < maxQueuedJobs) return;
    throw new CapserveError(
      'OVERLOADED',
      `${queued} jobs are waiting or running (MAX_QUEUED_JOBS ${maxQueuedJobs}); retry in about ${queueRetryAfterSeconds} s`,
      { details: { retryAfterSeconds: queueRetryAfterSeconds, queuedJobs: queued, limit: maxQueuedJobs } },
    );
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
