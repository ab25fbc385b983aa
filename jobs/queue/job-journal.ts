import { type ErrorRecord } from '../../core/errors.js';
import { type JobStatus } from '../types.js';

/**
 * A `/process` job as the journal keeps it. The store's `ProcessJob` (store/types.ts) has this
 * shape; it is restated here because `jobs/` and `store/` sit on one layer and never import
 * each other, and the server passes the store in as the {@link JobJournal}.
 */
export interface JournalJob {
  readonly id: string;
  readonly queue: string;
  readonly status: JobStatus;
  /** 0 to 1. */
  readonly progress: number;
  /** Tries started so far. */
  readonly attempts: number;
  /** Tries allowed in all. */
  readonly maxAttempts: number;
  /** A `Priority`; read back with a fallback, since the store keeps any string. */
  readonly priority: string;
  readonly result?: unknown;
  readonly error?: ErrorRecord;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
}

/**
 * Where the in-process queues record their jobs so that a restart keeps them: the store
 * (SQLite, or PostgreSQL under DATABASE_URL) implements it. Every method is atomic on its own.
 * A process holds a lease on the unfinished jobs it queued or runs and writes a job only while
 * it holds it and the job is unfinished, as model jobs do (training/model-jobs.ts).
 */
export interface JobJournal {
  /** Records a newly accepted job with its payload, leased to `owner` until `leaseUntil`. */
  putProcessJob(job: JournalJob, payload: unknown, owner: string, leaseUntil: number): Promise<void>;
  /** Writes `job` only while the stored one is unfinished (and held by `owner`, given one); false otherwise. */
  updateUnfinishedProcessJob(job: JournalJob, owner?: string): Promise<boolean>;
  /** Takes the lease of an unfinished job unless another owner holds one still valid at `now`. */
  claimProcessJob(id: string, owner: string, leaseUntil: number, now: number): Promise<boolean>;
  /** Unfinished jobs of `queue` whose lease is missing or lapsed at `now`, oldest first. */
  claimableProcessJobIds(queue: string, now: number): Promise<string[]>;
  /** Extends every lease `owner` holds on unfinished jobs (0 releases them). */
  renewProcessJobLeases(owner: string, leaseUntil: number): Promise<number>;
  getProcessJob(id: string): Promise<JournalJob | undefined>;
  /** The payload of an unfinished job; undefined once it finished. */
  getProcessJobPayload(id: string): Promise<unknown>;
  deleteProcessJobsFinishedBefore(before: number): Promise<number>;
}
