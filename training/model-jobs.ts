import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import { toJobError } from '../jobs/queue/job-errors.js';
import { CapserveError } from '../server/errors.js';
import { type JobFilter, type ModelJobType, type StoredJob, type Store } from '../store/types.js';

/** Runs one model job; throws to fail it (a CapserveError's code is kept). */
export type ModelJobRunner = (
  job: StoredJob,
  context: { readonly signal: AbortSignal; progress(fraction: number, stage: string): void },
) => Promise<unknown>;

export interface ModelJobsOptions {
  readonly store: Store;
  readonly run: ModelJobRunner;
  /** Jobs running at once. */
  readonly concurrency: number;
  /** Told when a progress write fails. @default ignore */
  readonly onError?: (error: unknown) => void;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Told of every job that completes, fails or is cancelled, once it is in the store. @default ignore */
  readonly onFinished?: (job: StoredJob) => void;
}

/** Progress is written at most this often, plus at every change of stage. */
const PROGRESS_WRITE_MS = 250;

/**
 * Train, evaluate and predict jobs on an in-process queue whose every state change is written
 * to the store first: a job accepted is in the store before the client hears of it, and jobs a
 * restart interrupted are queued again by {@link resume} (they start over; a job is a pure
 * function of its stored request, seeded, so it gives the same answer).
 */
export class ModelJobs {
  readonly #store: Store;
  readonly #run: ModelJobRunner;
  readonly #queue: PQueue;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  readonly #onFinished: (job: StoredJob) => void;
  readonly #controllers = new Map<string, AbortController>();
  #closed = false;

  constructor(options: ModelJobsOptions) {
    this.#store = options.store;
    this.#run = options.run;
    this.#queue = new PQueue({ concurrency: options.concurrency });
    this.#onError = options.onError ?? (() => {});
    this.#now = options.now ?? Date.now;
    this.#onFinished = options.onFinished ?? (() => {});
  }

  async submit(type: ModelJobType, request: unknown): Promise<StoredJob> {
    if (this.#closed) throw new CapserveError('SHUTTING_DOWN');
    const now = this.#now();
    const job: StoredJob = { id: randomUUID(), type, status: 'queued', progress: 0, request, createdAt: now, updatedAt: now };
    await this.#store.putJob(job);
    this.#enqueue(job);
    return job;
  }

  /** Queues again every job that was queued or running when the server last stopped; returns how many. */
  async resume(): Promise<number> {
    const unfinished = await this.#store.listJobs({ statuses: ['queued', 'running'], limit: 1_000_000 });
    for (const job of unfinished.reverse()) {
      const { stage: _stage, ...rest } = job;
      const queued: StoredJob = { ...rest, status: 'queued', progress: 0, updatedAt: this.#now() };
      await this.#store.putJob(queued);
      this.#enqueue(queued);
    }
    return unfinished.length;
  }

  async get(id: string): Promise<StoredJob> {
    const job = await this.#store.getJob(id);
    if (job === undefined) throw new CapserveError('JOB_NOT_FOUND', `no model job "${id}"`);
    return job;
  }

  list(filter: JobFilter): Promise<StoredJob[]> {
    return this.#store.listJobs(filter);
  }

  /** Cancels a queued or running job: it ends as `cancelled` and its result, if any comes, is dropped. */
  async cancel(id: string): Promise<StoredJob> {
    const job = await this.get(id);
    if (job.status !== 'queued' && job.status !== 'running') throw new CapserveError('JOB_FINISHED', `model job "${id}" is already ${job.status}`);
    this.#controllers.get(id)?.abort();
    const cancelled = this.#finish(job, { status: 'cancelled' });
    await this.#store.putJob(cancelled);
    this.#onFinished(cancelled);
    return cancelled;
  }

  /** Stops taking jobs and waits up to `graceMs` for running ones; the rest stay queued in the store for the next start. */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    this.#queue.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#queue.onIdle(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const controller of this.#controllers.values()) controller.abort();
  }

  #enqueue(job: StoredJob): void {
    const controller = new AbortController();
    this.#controllers.set(job.id, controller);
    void this.#queue
      .add(() => this.#execute(job, controller.signal))
      .catch(this.#onError)
      .finally(() => this.#controllers.delete(job.id));
  }

  async #execute(queued: StoredJob, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return;
    let job: StoredJob = { ...queued, status: 'running', updatedAt: this.#now() };
    await this.#store.putJob(job);
    let lastWrite = 0;
    let writing: Promise<void> = Promise.resolve();
    const progress = (fraction: number, stage: string): void => {
      const now = this.#now();
      const changedStage = stage !== job.stage;
      job = { ...job, progress: Math.max(0, Math.min(1, fraction)), stage, updatedAt: now };
      if (!changedStage && now - lastWrite < PROGRESS_WRITE_MS) return;
      lastWrite = now;
      const snapshot = job;
      writing = writing.then(() => (signal.aborted ? undefined : this.#store.putJob(snapshot))).catch(this.#onError);
    };
    let outcome: Partial<StoredJob>;
    try {
      outcome = { status: 'completed', progress: 1, result: await this.#run(job, { signal, progress }) };
    } catch (error) {
      outcome = { status: 'failed', error: toJobError(error) };
    }
    await writing;
    // A cancelled job was written as such by cancel(); a job cut short by close() stays running in the store, so resume() takes it again.
    if (signal.aborted) return;
    const finished = this.#finish(job, outcome);
    await this.#store.putJob(finished);
    this.#onFinished(finished);
  }

  #finish(job: StoredJob, outcome: Partial<StoredJob>): StoredJob {
    const now = this.#now();
    const { stage: _stage, ...rest } = job;
    return { ...rest, ...outcome, updatedAt: now, finishedAt: now };
  }
}

/** A job as the API shows it: inline examples and CSV text are summarised by their count, not echoed back. */
export function jobView(job: StoredJob): Omit<StoredJob, 'request'> & { readonly request: Record<string, unknown> } {
  const { examples, csv, ...request } = (job.request ?? {}) as { examples?: unknown[]; csv?: string } & Record<string, unknown>;
  return {
    ...job,
    request: {
      ...request,
      ...(examples === undefined ? {} : { examples: examples.length }),
      ...(csv === undefined ? {} : { csvBytes: Buffer.byteLength(csv) }),
    },
  };
}
