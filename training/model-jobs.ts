import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import { CapserveError, toErrorRecord } from '../core/errors.js';
import { type ModelJobFilter, type ModelJobType, type ModelJob, type Store } from '../store/types.js';
import { settlesWithin, type Time, wallTime } from '../core/time.js';

/** Runs one model job; throws to fail it (a CapserveError's code is kept). */
export type ModelJobRunner = (
  job: ModelJob,
  context: { readonly signal: AbortSignal; progress(fraction: number, stage: string): void },
) => Promise<unknown>;

export interface ModelJobsOptions {
  readonly store: Store;
  readonly run: ModelJobRunner;
  /** Jobs running at once. */
  readonly concurrency: number;
  /** This process's name on the leases it holds; unique among the processes sharing the store. @default a random id */
  readonly owner?: string;
  /** How long a lease lasts without renewal; a process that stops renewing loses its jobs to the others after this. @default 30000 */
  readonly leaseMs?: number;
  /** Told when a background write fails. @default ignore */
  readonly onError?: (error: unknown) => void;
  /** Epoch milliseconds for the stored records and leases, and the close grace period. @default wallTime */
  readonly time?: Time;
  /** Told of every job that completes, fails or is cancelled, once it is in the store. @default ignore */
  readonly onFinished?: (job: ModelJob) => void;
}

/** Progress is written at most this often, plus at every change of stage. */
const PROGRESS_WRITE_MS = 250;

/**
 * Train, evaluate and predict jobs on an in-process queue whose every state change is written
 * to the store first: a job accepted is in the store before the client hears of it.
 *
 * Several processes may share one store. Each holds a lease on the jobs it has queued or is
 * running and renews it every third of `leaseMs` ({@link heartbeat}); a job whose lease
 * lapsed (its process crashed) or was released (its process stopped) is taken by the next
 * heartbeat or start of any process, and starts over: a job is a pure function of its stored
 * request, seeded, so it gives the same answer. A process writes a job only while it holds
 * the lease and the job is unfinished: a cancel from any process sticks, and a process that
 * lost a job (it stalled past its lease) stops working on it at its next write.
 */
export class ModelJobs {
  readonly #store: Store;
  readonly #run: ModelJobRunner;
  readonly #queue: PQueue;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #time: Time;
  readonly #onFinished: (job: ModelJob) => void;
  readonly #controllers = new Map<string, AbortController>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ModelJobsOptions) {
    this.#store = options.store;
    this.#run = options.run;
    this.#queue = new PQueue({ concurrency: options.concurrency });
    this.#owner = options.owner ?? randomUUID();
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#onError = options.onError ?? (() => {});
    this.#time = options.time ?? wallTime;
    this.#onFinished = options.onFinished ?? (() => {});
  }

  /** Takes the jobs nobody holds (those the last stop interrupted), then keeps the leases alive; returns how many it took. */
  async start(): Promise<number> {
    const taken = await this.resume();
    this.#timer = setInterval(() => void this.heartbeat().catch(this.#onError), this.#leaseMs / 3);
    this.#timer.unref();
    return taken;
  }

  async submit(type: ModelJobType, request: unknown): Promise<ModelJob> {
    if (this.#closed) throw new CapserveError('SHUTTING_DOWN');
    const now = this.#time.now();
    const job: ModelJob = { id: randomUUID(), type, status: 'queued', progress: 0, request, createdAt: now, updatedAt: now };
    await this.#store.putModelJob(job);
    await this.#store.claimModelJob(job.id, this.#owner, now + this.#leaseMs, now);
    this.#enqueue(job);
    return job;
  }

  /** Renews this process's leases, then takes any job whose lease lapsed. */
  async heartbeat(): Promise<number> {
    if (this.#closed) return 0;
    await this.#store.renewModelJobLeases(this.#owner, this.#time.now() + this.#leaseMs);
    return this.resume();
  }

  /** Queues every unfinished job that is not here and whose lease this process can take; returns how many. */
  async resume(): Promise<number> {
    let taken = 0;
    // Ids first: a job's body (its examples) is read only once this process holds its lease.
    for (const id of await this.#store.claimableModelJobIds(this.#time.now())) {
      if (this.#closed || this.#controllers.has(id)) continue;
      const now = this.#time.now();
      if (!(await this.#store.claimModelJob(id, this.#owner, now + this.#leaseMs, now))) continue;
      const job = await this.#store.getModelJob(id);
      if (job === undefined) continue;
      const { stage: _stage, ...rest } = job;
      const queued: ModelJob = { ...rest, status: 'queued', progress: 0, updatedAt: now };
      if (!(await this.#store.updateUnfinishedModelJob(queued, this.#owner))) continue;
      this.#enqueue(queued);
      taken += 1;
    }
    return taken;
  }

  async get(id: string): Promise<ModelJob> {
    const job = await this.#store.getModelJob(id);
    if (job === undefined) throw new CapserveError('JOB_NOT_FOUND', `no model job "${id}"`);
    return job;
  }

  list(filter: ModelJobFilter): Promise<ModelJob[]> {
    return this.#store.listModelJobs(filter);
  }

  /** Cancels a queued or running job, wherever it runs: it ends as `cancelled` and its result, if any comes, is dropped. */
  async cancel(id: string): Promise<ModelJob> {
    const job = await this.get(id);
    const cancelled = this.#finish(job, { status: 'cancelled' });
    if (!(await this.#store.updateUnfinishedModelJob(cancelled))) {
      throw new CapserveError('JOB_FINISHED', `model job "${id}" is already ${(await this.get(id)).status}`);
    }
    this.#controllers.get(id)?.abort();
    this.#onFinished(cancelled);
    return cancelled;
  }

  /**
   * Stops taking jobs and waits up to `graceMs` for running ones; the rest stay unfinished in
   * the store with their leases released, for the next process that starts or beats.
   */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#queue.clear();
    await settlesWithin(this.#queue.onIdle(), graceMs, this.#time);
    for (const controller of this.#controllers.values()) controller.abort();
    await this.#store.renewModelJobLeases(this.#owner, 0).catch(this.#onError);
  }

  #enqueue(job: ModelJob): void {
    const controller = new AbortController();
    this.#controllers.set(job.id, controller);
    void this.#queue
      .add(() => this.#execute(job, controller))
      .catch(this.#onError)
      .finally(() => this.#controllers.delete(job.id));
  }

  async #execute(queued: ModelJob, controller: AbortController): Promise<void> {
    const { signal } = controller;
    if (signal.aborted || this.#closed) return;
    let job: ModelJob = { ...queued, status: 'running', updatedAt: this.#time.now() };
    // Finished meanwhile (cancelled here or elsewhere, or taken over and done): nothing to run.
    if (!(await this.#store.updateUnfinishedModelJob(job, this.#owner))) return;
    let lastWrite = 0;
    let writing: Promise<void> = Promise.resolve();
    const progress = (fraction: number, stage: string): void => {
      const now = this.#time.now();
      const changedStage = stage !== job.stage;
      job = { ...job, progress: Math.max(0, Math.min(1, fraction)), stage, updatedAt: now };
      if (!changedStage && now - lastWrite < PROGRESS_WRITE_MS) return;
      lastWrite = now;
      const snapshot = job;
      writing = writing
        .then(async () => {
          // A refused write means the job was cancelled, or taken over after this process's lease lapsed: stop working on it.
          if (!signal.aborted && !(await this.#store.updateUnfinishedModelJob(snapshot, this.#owner))) controller.abort();
        })
        .catch(this.#onError);
    };
    let outcome: Partial<ModelJob>;
    try {
      outcome = { status: 'completed', progress: 1, result: await this.#run(job, { signal, progress }) };
    } catch (error) {
      outcome = { status: 'failed', error: toErrorRecord(error) };
    }
    await writing;
    // Aborted: cancelled (already written as such) or cut short by close() (left for whoever takes it next).
    if (signal.aborted) return;
    const finished = this.#finish(job, outcome);
    if (await this.#store.updateUnfinishedModelJob(finished, this.#owner)) this.#onFinished(finished);
  }

  #finish(job: ModelJob, outcome: Partial<ModelJob>): ModelJob {
    const now = this.#time.now();
    const { stage: _stage, ...rest } = job;
    return { ...rest, ...outcome, updatedAt: now, finishedAt: now };
  }
}

/** A job as the API shows it: inline examples and CSV text are summarised by their count, not echoed back. */
export function jobView(job: ModelJob): Omit<ModelJob, 'request'> & { readonly request: Record<string, unknown> } {
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
