import { randomUUID } from 'node:crypto';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { CapserveError } from '../../core/errors.js';
import {
  type EnqueueOptions,
  type JobEvent,
  type JobPayload,
  type JobQueue,
  type JobRecord,
  type QueueName,
} from '../types.js';
import {
  BULLMQ_PREFIX,
  type BullmqConnectionOptions,
  cancelChannel,
  cancelledKey,
  type CancelledMarker,
  decodeFailure,
  fractionOf,
  isCancelledFailure,
  stageOf,
  statusOf,
} from './bullmq-common.js';
import { finalEventOf, JobListeners } from './job-listeners.js';
import { bullmqPriority, checkInteger, resolveRetryOptions, type RetryOptions } from './options.js';
import { type Redis } from 'ioredis';
import { openRedis } from './redis-connection.js';

export type BullmqJobQueueOptions = BullmqConnectionOptions & RetryOptions;

type PayloadJob = Job<JobPayload, unknown, string>;

const queuedStates = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

/**
 * The `JobQueue` over BullMQ on Redis: the front-end side. Jobs run in workers started with
 * `startBullmqWorker` (this process or others). Retries, backoff, priorities and finished-job
 * expiry are BullMQ's; subscribers are fed from BullMQ's event stream, so they hear about jobs
 * whichever process runs them. Cancelling a running job publishes its id to the workers.
 */
export class BullmqJobQueue implements JobQueue {
  readonly name: QueueName;
  readonly #options: Readonly<Required<RetryOptions>>;
  readonly #prefix: string;
  readonly #onError: (error: unknown) => void;
  readonly #client: Redis;
  readonly #queue: Queue<JobPayload, unknown, string>;
  readonly #events: Promise<QueueEvents>;
  readonly #listeners: JobListeners;
  #closing: Promise<void> | undefined;

  constructor(name: QueueName, options: BullmqJobQueueOptions) {
    this.name = name;
    this.#options = resolveRetryOptions(options);
    this.#prefix = options.prefix ?? BULLMQ_PREFIX;
    this.#onError = options.onError ?? (() => {});
    this.#listeners = new JobListeners(this.#onError);
    this.#client = openRedis(options.redisUrl, { connectionName: `${this.#prefix}:${name}:front-end` });
    this.#client.on('error', this.#onError);
    this.#queue = new Queue<JobPayload, unknown, string>(name, { connection: this.#client, prefix: this.#prefix });
    this.#queue.on('error', this.#onError);
    this.#events = this.#startEvents();
    this.#events.catch(this.#onError);
  }

  /** Resolves once Redis answers and the event stream is followed; `add` and `subscribe` do not need to wait for it. */
  async ready(): Promise<void> {
    await this.#queue.waitUntilReady();
    await (await this.#events).waitUntilReady();
  }

  async add(payload: JobPayload, options: EnqueueOptions): Promise<JobRecord> {
    if (this.#closing !== undefined) throw new CapserveError('SHUTTING_DOWN');
    const attempts = options.attempts ?? this.#options.attempts;
    checkInteger('attempts', attempts, 1);
    const ttlSeconds = Math.ceil(this.#options.resultTtlMs / 1000);
    const id = randomUUID();
    const job = await this.#queue.add('job', payload, {
      jobId: id,
      priority: bullmqPriority[options.priority],
      attempts,
      backoff: { type: 'exponential', delay: this.#options.backoffMs },
      removeOnComplete: { age: ttlSeconds },
      removeOnFail: { age: ttlSeconds },
    });
    return { id, queue: this.name, status: 'queued', progress: 0, attempts: 0, createdAt: job.timestamp };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    // The state first, then the hash: a job that finishes in between then reads as still
    // running (true a moment ago), never as finished without its result or error.
    const [state, marker] = await Promise.all([this.#queue.getJobState(id), this.#marker(id)]);
    const job = state === 'unknown' ? undefined : await this.#queue.getJob(id);
    if (job === undefined) return marker === undefined ? undefined : this.#cancelledRecord(id, marker);
    const failure = state === 'failed' ? decodeFailure(job.failedReason) : undefined;
    const status = statusOf(state, failure);
    if (status === undefined) return marker === undefined ? undefined : this.#cancelledRecord(id, marker);
    // A job cancelled while running reads as cancelled at once, even before its worker stops it.
    if (marker !== undefined && status !== 'completed') return this.#cancelledRecord(id, marker);
    return {
      id,
      queue: this.name,
      status,
      progress: status === 'completed' ? 1 : fractionOf(job.progress),
      attempts: job.attemptsStarted,
      createdAt: job.timestamp,
      // A retried job keeps its failed try's finishedOn; only a finished job reports one.
      ...(job.finishedOn === undefined || status === 'running' || status === 'queued' ? {} : { finishedAt: job.finishedOn }),
      ...(status === 'completed' ? { result: job.returnvalue } : {}),
      ...(status === 'failed' && failure !== undefined ? { error: failure } : {}),
    };
  }

  async cancel(id: string): Promise<boolean> {
    const [found, marker] = await Promise.all([this.#queue.getJobState(id), this.#marker(id)]);
    if (found === 'unknown' || marker !== undefined) return false;
    let state: string = found;
    if (queuedStates.has(state)) {
      const job = await this.#queue.getJob(id);
      if (job === undefined) return false;
      try {
        await job.remove();
        await this.#markCancelled(job);
        this.#listeners.emit({ type: 'cancelled', jobId: id });
        return true;
      } catch {
        // A worker took it meanwhile (a locked job cannot be removed): cancel it as running.
        state = await this.#queue.getJobState(id);
      }
    }
    if (state !== 'active') return false;
    const job = await this.#queue.getJob(id);
    if (job === undefined) return false;
    // The marker first: a worker that picks the job up again (after a stall) checks it.
    await this.#markCancelled(job);
    await this.#client.publish(cancelChannel(this.#prefix, this.name), id);
    this.#listeners.emit({ type: 'cancelled', jobId: id });
    return true;
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    const unsubscribe = this.#listeners.add(id, listener);
    // Late subscribers: once the stream is followed, a job that has already finished (or no
    // longer exists) is answered from its record. A final event that also arrives live is
    // delivered once (JobListeners drops a listener at its final event).
    this.#events
      .then(() => this.get(id))
      .then((record) => {
        if (record === undefined) {
          unsubscribe();
          return;
        }
        const final = finalEventOf(record);
        if (final !== undefined) this.#listeners.emit(final);
      })
      .catch(this.#onError);
    return unsubscribe;
  }

  async counts(): Promise<{ readonly waiting: number; readonly running: number }> {
    const counts = await this.#queue.getJobCounts('waiting', 'prioritized', 'delayed', 'waiting-children', 'active');
    const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0) + (counts['waiting-children'] ?? 0);
    return { waiting, running: counts.active ?? 0 };
  }

  /** Closes the event stream, the queue and the connection; jobs stay in Redis for the workers. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      const events = await this.#events.catch(() => undefined);
      await events?.close();
      await this.#queue.close();
    } finally {
      await this.#client.quit();
      this.#listeners.clear();
    }
  }

  /**
   * Follows the event stream from its current end. Reading the tip first (rather than BullMQ's
   * default '$' on its first blocking read) means no event written after construction is missed,
   * however long the blocking connection takes to open.
   */
  async #startEvents(): Promise<QueueEvents> {
    const tip = await this.#client.xrevrange(this.#queue.toKey('events'), '+', '-', 'COUNT', 1);
    const lastEventId = tip[0]?.[0] ?? '0-0';
    const events = new QueueEvents(this.name, { connection: this.#client, prefix: this.#prefix, lastEventId });
    events.on('error', this.#onError);
    events.on('progress', ({ jobId, data }) => {
      const stage = stageOf(data);
      this.#listeners.emit(
        stage === undefined
          ? { type: 'progress', jobId, progress: fractionOf(data) }
          : { type: 'progress', jobId, progress: fractionOf(data), stage },
      );
    });
    events.on('completed', ({ jobId, returnvalue }) => this.#listeners.emit({ type: 'result', jobId, result: returnvalue }));
    events.on('failed', ({ jobId, failedReason }) => {
      const error = decodeFailure(failedReason);
      this.#listeners.emit(isCancelledFailure(error) ? { type: 'cancelled', jobId } : { type: 'failed', jobId, error });
    });
    // A waiting job removed by a cancel in another process.
    events.on('removed', ({ jobId }) => this.#listeners.emit({ type: 'cancelled', jobId }));
    return events;
  }

  async #marker(id: string): Promise<CancelledMarker | undefined> {
    const text = await this.#client.get(cancelledKey(this.#prefix, this.name, id));
    return text === null ? undefined : (JSON.parse(text) as CancelledMarker);
  }

  async #markCancelled(job: PayloadJob): Promise<void> {
    const marker: CancelledMarker = {
      createdAt: job.timestamp,
      finishedAt: Date.now(),
      attempts: job.attemptsStarted,
      progress: fractionOf(job.progress),
    };
    await this.#client.set(cancelledKey(this.#prefix, this.name, job.id ?? ''), JSON.stringify(marker), 'PX', this.#options.resultTtlMs);
  }

  #cancelledRecord(id: string, marker: CancelledMarker): JobRecord {
    return {
      id,
      queue: this.name,
      status: 'cancelled',
      progress: marker.progress,
      attempts: marker.attempts,
      createdAt: marker.createdAt,
      finishedAt: marker.finishedAt,
    };
  }
}
