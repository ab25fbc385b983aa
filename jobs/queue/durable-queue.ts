import { randomUUID } from 'node:crypto';
import { access } from 'node:fs/promises';
import { CapserveError, type ErrorCode, toErrorRecord } from '../../core/errors.js';
import { type Time, wallTime } from '../../core/time.js';
import {
  type EnqueueOptions,
  type JobEvent,
  jobPayloadSchema,
  type JobPayload,
  type JobProcessor,
  type JobQueue,
  type JobRecord,
  type JobStatus,
  type Priority,
  priorities,
  type QueueName,
} from '../types.js';
import { type JobJournal, type JournalJob } from './job-journal.js';
import { finalEventOf } from './job-listeners.js';
import { type CloseOptions, MemoryJobQueue, type MemoryJobQueueOptions } from './memory-queue.js';
import { checkInteger, resolveRetryOptions } from './options.js';

export interface DurableJobQueueOptions extends Omit<MemoryJobQueueOptions, 'onChange'> {
  readonly journal: JobJournal;
  /** This process's name on its leases; unique among the processes sharing the store. @default a random id */
  readonly owner?: string;
  /** How long a lease lasts unrenewed; renewed every third of it. @default 30000 */
  readonly leaseMs?: number;
  /**
   * Whether a stored job's input is still there to run it again after a restart (false fails
   * it with JOB_INPUT_LOST). @default true unless its `filePath` no longer exists
   */
  readonly inputAvailable?: (payload: JobPayload) => Promise<boolean>;
  /** Told of each job this queue takes back from the store, once it is queued again (e.g. to release its file when it ends). */
  readonly onResumed?: (jobId: string, payload: JobPayload) => void;
  /** Told when a background write to the journal fails. @default ignore */
  readonly onError?: (error: unknown) => void;
}

/** Progress is written at most this often; every change of status is written. */
const PROGRESS_WRITE_MS = 250;

/** What the journal needs of a job that the in-memory record does not carry. */
interface Live {
  readonly priority: Priority;
  readonly maxAttempts: number;
  status: JobStatus;
  lastWrite: number;
}

/**
 * The in-process queue with the store as its record: the work runs on a {@link MemoryJobQueue}
 * (the fast path, and where events come from), and every job is written to the journal before
 * `add` resolves, then at each change of status (progress at most every 250 ms).
 *
 * After a restart `GET /jobs/:id` still answers from the store until the result TTL, and the
 * jobs that were queued or running are run again from the start: at least once, not exactly
 * once. Leases work as for model jobs: a stopped process releases its unfinished jobs at close,
 * so the next start takes them at once; a crashed one's lapse after `leaseMs`, and the next
 * heartbeat of any process sharing the store takes them. A try cut short by a crash counts
 * against the job's attempts (so a job that kills the process is not run for ever); one cut
 * short by a shutdown does not.
 */
export class DurableJobQueue implements JobQueue {
  readonly name: QueueName;
  readonly #inner: MemoryJobQueue;
  readonly #journal: JobJournal;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #time: Time;
  readonly #onError: (error: unknown) => void;
  readonly #inputAvailable: (payload: JobPayload) => Promise<boolean>;
  readonly #onResumed: ((jobId: string, payload: JobPayload) => void) | undefined;
  readonly #attempts: number;
  readonly #resultTtlMs: number;
  readonly #live = new Map<string, Live>();
  /** Jobs whose stored record another process changed (cancelled, or took over): their record is read from the store. */
  readonly #foreign = new Set<string>();
  /** Journal writes of changes, one after another, so a job's states land in order. */
  #writing: Promise<void> = Promise.resolve();
  #stopBeat: () => void = () => {};
  #resuming: Promise<unknown> = Promise.resolve();
  #closing = false;

  constructor(name: QueueName, processor: JobProcessor, options: DurableJobQueueOptions) {
    this.name = name;
    this.#journal = options.journal;
    // One owner per queue, so closing one queue releases only its own jobs.
    this.#owner = `${options.owner ?? randomUUID()}:${name}`;
    this.#leaseMs = options.leaseMs ?? 30_000;
    checkInteger('leaseMs', this.#leaseMs, 3);
    this.#time = options.time ?? wallTime;
    this.#onError = options.onError ?? (() => {});
    this.#inputAvailable = options.inputAvailable ?? fileStillThere;
    this.#onResumed = options.onResumed;
    const retry = resolveRetryOptions(options);
    this.#attempts = retry.attempts;
    this.#resultTtlMs = retry.resultTtlMs;
    this.#inner = new MemoryJobQueue(name, processor, { ...options, time: this.#time, onChange: (record) => this.#changed(record) });
  }

  /** Takes the jobs a stopped or crashed process left unfinished, then keeps the leases alive; returns how many it took. */
  async start(): Promise<number> {
    const taken = await this.resume();
    this.#beat();
    return taken;
  }

  /** Renews this queue's leases, forgets jobs past their TTL, then takes any job whose lease lapsed. */
  async heartbeat(): Promise<number> {
    if (this.#closing) return 0;
    const now = this.#time.now();
    await this.#journal.renewProcessJobLeases(this.#owner, now + this.#leaseMs);
    await this.#journal.deleteProcessJobsFinishedBefore(now - this.#resultTtlMs);
    return this.resume();
  }

  /** Queues every unfinished job of this queue that nobody holds; returns how many. */
  resume(): Promise<number> {
    // One pass at a time: two (a heartbeat and a start) could both claim a job, since this process already holds it after the first.
    const pass = this.#resuming.then(() => this.#resume());
    this.#resuming = pass.catch(() => 0);
    return pass;
  }

  async #resume(): Promise<number> {
    let taken = 0;
    for (const id of await this.#journal.claimableProcessJobIds(this.name, this.#time.now())) {
      if (this.#closing || this.#inner.has(id)) continue;
      const now = this.#time.now();
      if (!(await this.#journal.claimProcessJob(id, this.#owner, now + this.#leaseMs, now))) continue;
      const job = await this.#journal.getProcessJob(id);
      if (job !== undefined && (await this.#restore(job, now))) taken += 1;
    }
    return taken;
  }

  async add(payload: JobPayload, options: EnqueueOptions): Promise<JobRecord> {
    if (this.#closing) throw new CapserveError('SHUTTING_DOWN');
    const maxAttempts = options.attempts ?? this.#attempts;
    checkInteger('attempts', maxAttempts, 1);
    const now = this.#time.now();
    const job: JournalJob = { id: randomUUID(), queue: this.name, status: 'queued', progress: 0, attempts: 0, maxAttempts, priority: options.priority, createdAt: now, updatedAt: now };
    // In the store before the client hears of it.
    await this.#journal.putProcessJob(job, payload, this.#owner, now + this.#leaseMs);
    return this.#enqueue(job, payload, options.priority);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    if (!this.#foreign.has(id) && this.#inner.has(id)) {
      const record = await this.#inner.get(id);
      // A result dropped from memory to keep within MAX_RESULT_BYTES is still in the store.
      if (record?.error?.code !== 'RESULT_EVICTED') return record;
    }
    const job = await this.#journal.getProcessJob(id);
    if (job === undefined || job.queue !== this.name) return undefined;
    if (job.finishedAt !== undefined && job.finishedAt <= this.#time.now() - this.#resultTtlMs) return undefined;
    return recordOf(this.name, job);
  }

  async cancel(id: string): Promise<boolean> {
    if (!this.#foreign.has(id) && this.#inner.has(id)) return this.#inner.cancel(id);
    // Held by another process, or left by a stopped one and not taken yet: the stored record
    // decides, and the holder stops at its next write (which the store refuses).
    const job = await this.#journal.getProcessJob(id);
    if (job === undefined || job.queue !== this.name || (job.status !== 'queued' && job.status !== 'running')) return false;
    const now = this.#time.now();
    return this.#journal.updateUnfinishedProcessJob({ ...job, status: 'cancelled', updatedAt: now, finishedAt: now });
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    if (!this.#foreign.has(id) && this.#inner.has(id)) return this.#inner.subscribe(id, listener);
    // Only in the store (finished before a restart, or run by another process): its final event, once it has one.
    let subscribed = true;
    void this.get(id)
      .then((record) => {
        const final = record === undefined ? undefined : finalEventOf(record);
        if (subscribed && final !== undefined) listener(final);
      })
      .catch(this.#onError);
    return () => {
      subscribed = false;
    };
  }

  counts(): Promise<{ readonly waiting: number; readonly running: number }> {
    return this.#inner.counts();
  }

  /**
   * Stops taking jobs and lets the accepted ones finish within `graceMs`; those that do not stay
   * in the store as queued, their leases released, for the next process that starts.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    this.#closing = true;
    this.#stopBeat();
    await this.#inner.close(options);
    await this.#writing;
    await this.#journal.renewProcessJobLeases(this.#owner, 0).catch(this.#onError);
  }

  #beat(): void {
    this.#stopBeat = this.#time.schedule(() => {
      void this.heartbeat()
        .catch(this.#onError)
        .finally(() => {
          if (!this.#closing) this.#beat();
        });
    }, this.#leaseMs / 3);
  }

  async #restore(job: JournalJob, now: number): Promise<boolean> {
    const fail = async (code: ErrorCode, message: string): Promise<false> => {
      const { result: _result, ...rest } = job;
      await this.#journal.updateUnfinishedProcessJob({ ...rest, status: 'failed', error: toErrorRecord(new CapserveError(code, message)), updatedAt: now, finishedAt: now }, this.#owner);
      return false;
    };
    const parsed = jobPayloadSchema.safeParse(await this.#journal.getProcessJobPayload(job.id));
    if (!parsed.success) return fail('JOB_INPUT_LOST', `job ${job.id} has no payload that can run`);
    if (!(await this.#inputAvailable(parsed.data))) return fail('JOB_INPUT_LOST', `the file of job ${job.id} is gone`);
    if (job.status === 'running' && job.attempts >= job.maxAttempts) {
      return fail('JOB_INTERRUPTED', `the server stopped during each of the ${job.attempts} tries of job ${job.id}`);
    }
    const { error: _error, result: _result, finishedAt: _finishedAt, ...rest } = job;
    const queued: JournalJob = { ...rest, status: 'queued', progress: 0, updatedAt: now };
    if (!(await this.#journal.updateUnfinishedProcessJob(queued, this.#owner))) return false;
    this.#foreign.delete(job.id);
    await this.#enqueue(queued, parsed.data, isPriority(job.priority) ? job.priority : 'normal');
    this.#onResumed?.(job.id, parsed.data);
    return true;
  }

  async #enqueue(job: JournalJob, payload: JobPayload, priority: Priority): Promise<JobRecord> {
    this.#live.set(job.id, { priority, maxAttempts: job.maxAttempts, status: 'queued', lastWrite: 0 });
    try {
      return await this.#inner.add(payload, { priority, attempts: job.maxAttempts, id: job.id, createdAt: job.createdAt, attemptsMade: job.attempts });
    } catch (error) {
      // The queue closed meanwhile: the caller hears the refusal, so the stored job must not run later either.
      this.#live.delete(job.id);
      const now = this.#time.now();
      await this.#journal.updateUnfinishedProcessJob({ ...job, status: 'failed', error: toErrorRecord(error), updatedAt: now, finishedAt: now }, this.#owner).catch(this.#onError);
      throw error;
    }
  }

  /** Writes a change the in-memory queue reports (synchronously, in order) to the journal, behind the writes before it. */
  #changed(record: JobRecord): void {
    const live = this.#live.get(record.id);
    if (live === undefined) return;
    const now = this.#time.now();
    let job = journalJobOf(record, live, now);
    if (this.#closing && record.status === 'failed' && record.error?.code === 'SHUTTING_DOWN') {
      // Cut short by this shutdown, not by a fault of its own: queued again for the next start, the try not counted.
      const { error: _error, finishedAt: _finishedAt, ...rest } = job;
      job = { ...rest, status: 'queued', progress: 0, attempts: live.status === 'running' ? record.attempts - 1 : record.attempts };
    } else if (record.status === live.status && record.status === 'running' && now - live.lastWrite < PROGRESS_WRITE_MS) {
      return;
    }
    live.status = record.status;
    live.lastWrite = now;
    const finished = record.status !== 'queued' && record.status !== 'running';
    if (finished) this.#live.delete(record.id);
    const snapshot = job;
    this.#writing = this.#writing
      .then(async () => {
        if (await this.#journal.updateUnfinishedProcessJob(snapshot, this.#owner)) return;
        // Refused: cancelled from another process, or taken over after this one's lease lapsed.
        // The stored record wins; stop working on the job.
        this.#foreign.add(record.id);
        if (!finished) await this.#inner.cancel(record.id);
      })
      .catch(this.#onError);
  }
}

function journalJobOf(record: JobRecord, live: Live, now: number): JournalJob {
  return {
    id: record.id,
    queue: record.queue,
    status: record.status,
    progress: record.progress,
    attempts: record.attempts,
    maxAttempts: live.maxAttempts,
    priority: live.priority,
    createdAt: record.createdAt,
    updatedAt: now,
    ...(record.finishedAt === undefined ? {} : { finishedAt: record.finishedAt }),
    ...(record.status === 'completed' ? { result: record.result } : {}),
    ...(record.error === undefined ? {} : { error: record.error }),
  };
}

function recordOf(queue: QueueName, job: JournalJob): JobRecord {
  return {
    id: job.id,
    queue,
    status: job.status,
    progress: job.progress,
    attempts: job.attempts,
    createdAt: job.createdAt,
    ...(job.finishedAt === undefined ? {} : { finishedAt: job.finishedAt }),
    ...(job.status === 'completed' ? { result: job.result } : {}),
    ...(job.error === undefined ? {} : { error: job.error }),
  };
}

function isPriority(value: string): value is Priority {
  return (priorities as readonly string[]).includes(value);
}

/** A job that runs on a spooled file can run again only while the file is there. */
async function fileStillThere(payload: JobPayload): Promise<boolean> {
  if (payload.filePath === undefined) return true;
  return access(payload.filePath).then(
    () => true,
    () => false,
  );
}
