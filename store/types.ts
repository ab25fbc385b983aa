import { type RegisteredCapability } from '../capabilities/registered-capabilities.js';
import { type ErrorRecord } from '../core/errors.js';

/**
 * What capserve keeps across restarts: training/evaluation/prediction jobs, stored data sets,
 * capabilities registered at run time, the review queue with its reviewers, the audit log, and
 * a record of every model version the server created or made default. SQLite by default
 * (SQLITE_PATH), PostgreSQL when DATABASE_URL is set; both behind this one interface.
 */

/** Jobs of the model lifecycle API (`/train`, `/evaluate`, `/predict`). */
export const modelJobTypes = ['train', 'evaluate', 'predict'] as const;
export type ModelJobType = (typeof modelJobTypes)[number];

/** A model job's lifecycle (the same words as a `/process` job's). */
export const modelJobStatuses = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type ModelJobStatus = (typeof modelJobStatuses)[number];

export interface ModelJob {
  readonly id: string;
  readonly type: ModelJobType;
  readonly status: ModelJobStatus;
  /** 0 to 1. */
  readonly progress: number;
  /** What the job is doing now, e.g. "features", "fit", "evaluate". */
  readonly stage?: string;
  /** The validated request, enough to run the job again after a restart. */
  readonly request: unknown;
  readonly result?: unknown;
  readonly error?: ErrorRecord;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
}

export interface ModelJobFilter {
  readonly type?: ModelJobType;
  readonly statuses?: readonly ModelJobStatus[];
  /** @default 100 */
  readonly limit?: number;
}

/**
 * A `/process` job as the store keeps it when the queues are in-process (no REDIS_URL): its
 * record, so a restart can still answer `GET /jobs/:id`. The payload it runs on is kept apart
 * ({@link Store.getProcessJobPayload}) and dropped once the job finishes.
 */
export interface ProcessJob {
  readonly id: string;
  /** The queue it was put on, e.g. "cpu_standard". */
  readonly queue: string;
  /** The same words as a model job's. */
  readonly status: ModelJobStatus;
  /** 0 to 1. */
  readonly progress: number;
  /** Tries started so far. */
  readonly attempts: number;
  /** Tries allowed in all. */
  readonly maxAttempts: number;
  /** "high", "normal" or "low". */
  readonly priority: string;
  readonly result?: unknown;
  readonly error?: ErrorRecord;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
}

/** One labelled (or, for prediction, unlabelled) example. */
export interface Example {
  readonly text: string;
  readonly label?: string;
}

export interface Dataset {
  readonly id: string;
  readonly name: string;
  /** Where it came from, e.g. "upload", "reviews". */
  readonly source: string;
  readonly examples: readonly Example[];
  readonly createdAt: number;
}


export interface Reviewer {
  readonly id: string;
  readonly name: string;
  /** Capability names this reviewer takes; "*" takes any. */
  readonly specialisations: readonly string[];
  /** Items assigned at once, at most. */
  readonly capacity: number;
  readonly createdAt: number;
}

export const reviewStatuses = ['pending', 'assigned', 'resolved'] as const;
export type ReviewStatus = (typeof reviewStatuses)[number];

export interface ReviewItem {
  readonly id: string;
  readonly capability: string;
  readonly text: string;
  /** The capability's result as it was answered. */
  readonly result: unknown;
  /** The rule that sent it here, e.g. "confidence 0.41 below 0.6". */
  readonly reason: string;
  readonly status: ReviewStatus;
  readonly assignee?: string;
  readonly assignedAt?: number;
  /** When an assigned item escalates to another reviewer. */
  readonly dueAt?: number;
  /** Reviewers it was assigned to before, oldest first. */
  readonly previousAssignees: readonly string[];
  readonly escalations: number;
  readonly correctedLabel?: string;
  readonly resolvedBy?: string;
  readonly resolvedAt?: number;
  readonly createdAt: number;
}

export interface ReviewFilter {
  readonly statuses?: readonly ReviewStatus[];
  readonly assignee?: string;
  readonly capability?: string;
  /** @default 100 */
  readonly limit?: number;
}

export interface AuditEntry {
  /** Increasing, assigned by the store. */
  readonly seq: number;
  readonly at: number;
  /** Who acted: a reviewer id, "system", or "api:<key digest prefix>". */
  readonly actor: string;
  /** e.g. "review.created", "review.assigned", "review.escalated", "review.resolved", "model.default". */
  readonly action: string;
  /** What it acted on, e.g. "review:<id>", "model:<name>". */
  readonly subject: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface AuditFilter {
  readonly subject?: string;
  /** Entries with `seq` greater than this. */
  readonly afterSeq?: number;
  /** @default 100 */
  readonly limit?: number;
}

/** A model version the server wrote or changed, mirrored from the repository's manifest. */
export interface ModelVersionRecord {
  readonly model: string;
  readonly version: number;
  readonly manifest: Readonly<Record<string, unknown>>;
  readonly isDefault: boolean;
  readonly recordedAt: number;
}

/**
 * Every method is atomic on its own. Lists are ordered: jobs newest first, data sets newest
 * first, reviewers and reviews oldest first, audit entries by `seq`, model versions by model then version.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  putModelJob(job: ModelJob): Promise<void>;
  /**
   * Writes `job` only while the stored one is still queued or running (and, given `owner`, while
   * `owner` holds its lease); false when it has finished, been cancelled or taken over meanwhile, or is gone.
   */
  updateUnfinishedModelJob(job: ModelJob, owner?: string): Promise<boolean>;
  /**
   * Takes the lease of an unfinished job for `owner` until `leaseUntil`, if nobody else holds
   * one that is still valid at `now`. True when `owner` now holds it.
   */
  claimModelJob(id: string, owner: string, leaseUntil: number, now: number): Promise<boolean>;
  /** Ids of the unfinished jobs whose lease is missing or lapsed at `now`, oldest first: those a process may claim. */
  claimableModelJobIds(now: number): Promise<string[]>;
  /** Extends every lease `owner` holds on unfinished jobs; returns how many (a lease of 0 releases them). */
  renewModelJobLeases(owner: string, leaseUntil: number): Promise<number>;
  getModelJob(id: string): Promise<ModelJob | undefined>;
  listModelJobs(filter?: ModelJobFilter): Promise<ModelJob[]>;

  /**
   * Writes a newly accepted job with its payload, leased to `owner` until `leaseUntil` (the
   * process that queues it). The lease methods below mirror the model jobs' ones.
   */
  putProcessJob(job: ProcessJob, payload: unknown, owner: string, leaseUntil: number): Promise<void>;
  /** Writes `job` only while the stored one is unfinished (and held by `owner`, given one); a finished job loses its payload. */
  updateUnfinishedProcessJob(job: ProcessJob, owner?: string): Promise<boolean>;
  claimProcessJob(id: string, owner: string, leaseUntil: number, now: number): Promise<boolean>;
  /** Ids of the unfinished jobs of `queue` whose lease is missing or lapsed at `now`, oldest first. */
  claimableProcessJobIds(queue: string, now: number): Promise<string[]>;
  renewProcessJobLeases(owner: string, leaseUntil: number): Promise<number>;
  getProcessJob(id: string): Promise<ProcessJob | undefined>;
  /** The payload an unfinished job runs on; undefined once it finished (or for no such job). */
  getProcessJobPayload(id: string): Promise<unknown>;
  /** Deletes the jobs that finished before `before`; returns how many. */
  deleteProcessJobsFinishedBefore(before: number): Promise<number>;

  putDataset(dataset: Dataset): Promise<void>;
  getDataset(id: string): Promise<Dataset | undefined>;
  /** Without their examples; `size` says how many each has. */
  listDatasets(limit?: number): Promise<(Omit<Dataset, 'examples'> & { readonly size: number })[]>;

  putCapability(capability: RegisteredCapability): Promise<void>;
  listCapabilities(): Promise<RegisteredCapability[]>;
  deleteCapability(name: string): Promise<boolean>;

  putReviewer(reviewer: Reviewer): Promise<void>;
  getReviewer(id: string): Promise<Reviewer | undefined>;
  listReviewers(): Promise<Reviewer[]>;

  putReview(item: ReviewItem): Promise<void>;
  getReview(id: string): Promise<ReviewItem | undefined>;
  listReviews(filter?: ReviewFilter): Promise<ReviewItem[]>;

  appendAudit(entry: Omit<AuditEntry, 'seq'>): Promise<AuditEntry>;
  listAudit(filter?: AuditFilter): Promise<AuditEntry[]>;

  /** Upserts by (model, version); marking one default clears the flag on the model's other versions. */
  putModelVersion(record: ModelVersionRecord): Promise<void>;
  listModelVersions(model?: string): Promise<ModelVersionRecord[]>;

  /**
   * Runs `fn` holding the named lock: across every process on a PostgreSQL store, within this
   * process on SQLite. For read-decide-write sequences such as review assignment.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;

  close(): Promise<void>;
}
