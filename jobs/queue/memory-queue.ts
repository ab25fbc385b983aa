import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import { settlesWithin, type Time, wallTime } from '../../core/time.js';
import { CapserveError, type ErrorRecord, isRetryable, toErrorRecord } from '../../core/errors.js';
import {
  type EnqueueOptions,
  type JobEvent,
  type JobPayload,
  type JobProcessor,
  type JobQueue,
  type JobRecord,
  type JobStatus,
  type QueueName,
} from '../types.js';
import { finalEventOf, JobListeners } from './job-listeners.js';
import { backoffDelay, checkInteger, memoryPriority, resolveRetryOptions, type RetryOptions } from './options.js';
import { ResultBudget } from './result-budget.js';

export interface MemoryJobQueueOptions extends RetryOptions {
  /** Jobs running at once. */
  readonly concurrency: number;
  /** Stamps `createdAt`/`finishedAt`, ages records, runs retry backoffs and the close grace period. @default wallTime */
  readonly time?: Time;
  /** Told when a subscriber's listener throws. @default ignore */
  readonly onError?: (error: unknown) => void;
  /**
   * Told of every change of a job after it was added (running, progress, back to queued for a
   * retry, finished), synchronously and in order; the durable queue writes them to the store. @default ignore
   */
  readonly onChange?: (record: JobRecord) => void;
  /**
   * Bytes (as JSON) of finished results kept in memory, all jobs together; past it the oldest
   * results are dropped and their jobs read `completed` with a RESULT_EVICTED error. @default no limit
   */
  readonly maxResultBytes?: number;
}

/** What only the in-process queue takes: a job put back from the store after a restart keeps its id, age and tries. */
export interface MemoryEnqueueOptions extends EnqueueOptions {
  /** @default a new UUID */
  readonly id?: string;
  /** @default now */
  readonly createdAt?: number;
  /** Tries already made. @default 0 */
  readonly attemptsMade?: number;
}

export interface CloseOptions {
  /**
   * How long to let queued, retrying and running jobs finish. When it runs out, every job that
   * has not finished fails with `SHUTTING_DOWN` and running processors are aborted (close then
   * waits for them to return). @default no limit
   */
  readonly graceMs?: number;
}

interface Entry {
  readonly id: string;
  readonly payload: JobPayload;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly createdAt: number;
  status: JobStatus;
  progress: number;
  attempts: number;
  finishedAt?: number;
  result?: unknown;
  error?: ErrorRecord;
  /** Set when the result was dropped to keep results within `maxResultBytes`. */
  evicted?: true;
  /** The current try's controller: aborting it drops the try from p-queue, or aborts its processor. */
  controller?: AbortController;
  /** Set while the job waits out a retry backoff. */
  cancelRetry?: () => void;
}


/**
 * The in-process `JobQueue` on p-queue: records live in memory, finished ones for `resultTtlMs`.
 * A failed try is retried after `backoffMs * 2^(attempt-1)` unless its error is permanent
 * ({@link isPermanent}). Cancelling a running job aborts its signal and ends it at once; the
 * processor keeps its concurrency slot until it returns, and whatever it returns is dropped.
 */
export class MemoryJobQueue implements JobQueue {
  readonly name: QueueName;
  readonly #processor: JobProcessor;
  readonly #options: Readonly<Required<RetryOptions>>;
  readonly #time: Time;
  readonly #pqueue: PQueue;
  readonly #entries = new Map<string, Entry>();
  /** Finished entries in finishing order, which is also expiry order (one TTL for all). */
  readonly #finished: Entry[] = [];
  #finishedHead = 0;
  readonly #listeners: JobListeners;
  readonly #onChange: (record: JobRecord) => void;
  readonly #results: ResultBudget | undefined;
  #waiting = 0;
  #running = 0;
  #unfinished = 0;
  #drainWaiters: (() => void)[] = [];
  #closing: Promise<void> | undefined;

  constructor(name: QueueName, processor: JobProcessor, options: MemoryJobQueueOptions) {
    checkInteger('concurrency', options.concurrency, 1);
    this.name = name;
    this.#processor = processor;
    this.#options = resolveRetryOptions(options);
    this.#time = options.time ?? wallTime;
    this.#pqueue = new PQueue({ concurrency: options.concurrency });
    this.#listeners = new JobListeners(options.onError);
    this.#onChange = options.onChange ?? (() => {});
    if (options.maxResultBytes !== undefined) checkInteger('maxResultBytes', options.maxResultBytes, 0);
    this.#results = options.maxResultBytes === undefined ? undefined : new ResultBudget(options.maxResultBytes);
  }

  async add(payload: JobPayload, options: MemoryEnqueueOptions): Promise<JobRecord> {
    if (this.#closing !== undefined) throw new CapserveError('SHUTTING_DOWN');
    const maxAttempts = options.attempts ?? this.#options.attempts;
    checkInteger('attempts', maxAttempts, 1);
    this.#sweep();
    const entry: Entry = {
      id: options.id ?? randomUUID(),
      payload,
      priority: memoryPriority[options.priority],
      maxAttempts,
      createdAt: options.createdAt ?? this.#time.now(),
      status: 'queued',
      progress: 0,
      attempts: options.attemptsMade ?? 0,
    };
    this.#entries.set(entry.id, entry);
    this.#unfinished += 1;
    this.#waiting += 1;
    const record = snapshot(this.name, entry);
    this.#enqueue(entry);
    return record;
  }

  /** Whether the job's record is here (added to this queue and not expired), without waiting. */
  has(id: string): boolean {
    this.#sweep();
    return this.#entries.has(id);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    this.#sweep();
    const entry = this.#entries.get(id);
    return entry === undefined ? undefined : snapshot(this.name, entry);
  }

  async cancel(id: string): Promise<boolean> {
    this.#sweep();
    const entry = this.#entries.get(id);
    if (entry === undefined || (entry.status !== 'queued' && entry.status !== 'running')) return false;
    this.#stop(entry, 'cancelled', new CapserveError('REQUEST_CANCELLED'));
    return true;
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    this.#sweep();
    const entry = this.#entries.get(id);
    if (entry === undefined) return () => {};
    const final = finalEventOf(snapshot(this.name, entry));
    if (final === undefined) return this.#listeners.add(id, listener);
    // Delivered on a later tick, like every other event, so the caller holds its unsubscribe first.
    let subscribed = true;
    queueMicrotask(() => {
      if (!subscribed) return;
      const unsubscribe = this.#listeners.add(id, listener);
      this.#listeners.emit(final);
      unsubscribe();
    });
    return () => {
      subscribed = false;
    };
  }

  async counts(): Promise<{ readonly waiting: number; readonly running: number }> {
    return { waiting: this.#waiting, running: this.#running };
  }

  /**
   * Stops taking jobs (`add` rejects with `SHUTTING_DOWN`), lets the accepted ones finish,
   * retries included, and resolves once no processor runs. See {@link CloseOptions.graceMs}.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.graceMs);
    return this.#closing;
  }

  async #close(graceMs: number | undefined): Promise<void> {
    let drained = this.#whenDrained();
    if (graceMs !== undefined) {
      if (!(await settlesWithin(drained, graceMs, this.#time))) {
        for (const entry of this.#entries.values()) {
          if (entry.status === 'queued' || entry.status === 'running') {
            this.#stop(entry, 'failed', new CapserveError('SHUTTING_DOWN'));
          }
        }
        drained = Promise.resolve();
      }
    }
    await drained;
    await this.#pqueue.onIdle();
    this.#listeners.clear();
  }

  #enqueue(entry: Entry): void {
    const queued = new AbortController();
    entry.controller = queued;
    // Aborting `queued` removes a waiting try from p-queue (its add promise then rejects; #run
    // never does). A running try gets a controller of its own: p-queue races a task against the
    // signal it was given and would free the slot at once, while a cancelled processor that is
    // still working must keep its slot until it returns, or concurrency would be a lie.
    this.#pqueue
      .add(() => this.#run(entry, queued), { priority: entry.priority, signal: queued.signal })
      .catch(() => {});
  }

  async #run(entry: Entry, queued: AbortController): Promise<void> {
    if (queued.signal.aborted || entry.status !== 'queued' || entry.controller !== queued) return;
    const controller = new AbortController();
    entry.controller = controller;
    this.#setStatus(entry, 'running');
    entry.attempts += 1;
    this.#onChange(snapshot(this.name, entry));
    const current = () => entry.status === 'running' && entry.controller === controller;
    let failure: { error: unknown } | undefined;
    let result: unknown;
    try {
      result = await this.#processor(entry.payload, {
        jobId: entry.id,
        signal: controller.signal,
        progress: (fraction, stage) => {
          if (!current() || !Number.isFinite(fraction)) return;
          entry.progress = Math.min(1, Math.max(0, fraction));
          this.#onChange(snapshot(this.name, entry));
          this.#listeners.emit(
            stage === undefined
              ? { type: 'progress', jobId: entry.id, progress: entry.progress }
              : { type: 'progress', jobId: entry.id, progress: entry.progress, stage },
          );
        },
      });
    } catch (error) {
      failure = { error };
    }
    // Cancelled or shut down while it ran: the job already ended and this try's outcome is dropped.
    if (!current()) return;
    if (failure === undefined) {
      entry.result = result;
      entry.progress = 1;
      this.#finish(entry, 'completed');
      this.#keepResultsInBudget(entry);
    } else if (!isRetryable(failure.error) || entry.attempts >= entry.maxAttempts) {
      this.#finish(entry, 'failed', failure.error);
    } else {
      this.#setStatus(entry, 'queued');
      entry.controller = undefined;
      this.#onChange(snapshot(this.name, entry));
      entry.cancelRetry = this.#time.schedule(() => {
        entry.cancelRetry = undefined;
        if (entry.status === 'queued') this.#enqueue(entry);
      }, backoffDelay(this.#options.backoffMs, entry.attempts));
    }
  }

  /** Ends a job from outside its processor: finishes it first, so the try sees itself superseded, then aborts the try. */
  #stop(entry: Entry, status: 'failed' | 'cancelled', reason: CapserveError): void {
    const controller = entry.controller;
    this.#finish(entry, status, reason);
    // Removes a queued try from p-queue, or tells a running processor to stop.
    controller?.abort(reason);
  }

  #finish(entry: Entry, status: 'completed' | 'failed' | 'cancelled', error?: unknown): void {
    entry.cancelRetry?.();
    entry.cancelRetry = undefined;
    this.#setStatus(entry, status);
    entry.finishedAt = this.#time.now();
    if (status === 'failed') entry.error = toErrorRecord(error);
    entry.controller = undefined;
    this.#finished.push(entry);
    this.#unfinished -= 1;
    if (this.#unfinished === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
    this.#onChange(snapshot(this.name, entry));
    const final = finalEventOf(snapshot(this.name, entry));
    if (final !== undefined) this.#listeners.emit(final);
  }

  /** Charges a new result to the budget and drops the oldest ones past it (after its subscribers had it). */
  #keepResultsInBudget(entry: Entry): void {
    for (const id of this.#results?.add(entry.id, entry.result) ?? []) {
      const dropped = this.#entries.get(id);
      if (dropped === undefined) continue;
      dropped.result = undefined;
      dropped.evicted = true;
    }
  }

  #setStatus(entry: Entry, status: JobStatus): void {
    if (entry.status === 'queued') this.#waiting -= 1;
    if (entry.status === 'running') this.#running -= 1;
    entry.status = status;
    if (status === 'queued') this.#waiting += 1;
    if (status === 'running') this.#running += 1;
  }

  #whenDrained(): Promise<void> {
    if (this.#unfinished === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Drops records whose TTL ran out; lazy, so the queue holds no timer of its own. */
  #sweep(): void {
    const expiredBefore = this.#time.now() - this.#options.resultTtlMs;
    while (this.#finishedHead < this.#finished.length) {
      const entry = this.#finished[this.#finishedHead];
      if (entry === undefined || (entry.finishedAt ?? 0) > expiredBefore) break;
      this.#entries.delete(entry.id);
      this.#results?.remove(entry.id);
      this.#finishedHead += 1;
    }
    if (this.#finishedHead > 1024 && this.#finishedHead * 2 > this.#finished.length) {
      this.#finished.splice(0, this.#finishedHead);
      this.#finishedHead = 0;
    }
  }
}

function snapshot(queue: QueueName, entry: Entry): JobRecord {
  return {
    id: entry.id,
    queue,
    status: entry.status,
    progress: entry.progress,
    attempts: entry.attempts,
    createdAt: entry.createdAt,
    ...(entry.finishedAt === undefined ? {} : { finishedAt: entry.finishedAt }),
    ...(entry.status === 'completed' && entry.evicted !== true ? { result: entry.result } : {}),
    ...(entry.error === undefined ? {} : { error: entry.error }),
    ...(entry.evicted === true ? { error: toErrorRecord(new CapserveError('RESULT_EVICTED')) } : {}),
  };
}
