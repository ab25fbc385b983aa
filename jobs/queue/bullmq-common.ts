import { type JobState } from 'bullmq';
import { type ErrorRecord, isErrorCode } from '../../core/errors.js';
import { type JobStatus, type QueueName } from '../types.js';

/** Key prefix of every BullMQ key: `capserve:<queue>:...` (BullMQ forbids ':' in queue names). */
export const BULLMQ_PREFIX = 'capserve';

/** What both sides of a BullMQ queue need to find each other. */
export interface BullmqConnectionOptions {
  /** `redis://[[user]:password@]host[:port][/db]` */
  readonly redisUrl: string;
  /** @default "capserve" */
  readonly prefix?: string;
  /** Told about connection and background errors, which never throw. @default ignore */
  readonly onError?: (error: unknown) => void;
}

/** Pub/sub channel on which the queue asks workers to abort a running job (message: the job id). */
export function cancelChannel(prefix: string, name: QueueName): string {
  return `${prefix}:${name}:cancel`;
}

/**
 * A cancelled job's own record (JSON, with the result TTL): a removed waiting job has no BullMQ
 * hash left, and a running one should read as cancelled before its worker has stopped it.
 * The `cancelled:` infix cannot clash with BullMQ's keys, whose job ids here are UUIDs.
 */
export function cancelledKey(prefix: string, name: QueueName, id: string): string {
  return `${prefix}:${name}:cancelled:${id}`;
}

export interface CancelledMarker {
  readonly createdAt: number;
  readonly finishedAt: number;
  readonly attempts: number;
  readonly progress: number;
}

/**
 * BullMQ keeps only an error's message (`failedReason`), so the worker throws errors whose
 * message is the `ErrorRecord` as JSON; that way the code survives Redis and reaches every process.
 */
export function encodeFailure(error: ErrorRecord): string {
  return JSON.stringify({ code: error.code, message: error.message });
}

/** Reverses {@link encodeFailure}; any other reason (e.g. BullMQ's own stall limit) gets the default code. */
export function decodeFailure(reason: string | undefined): ErrorRecord {
  if (reason !== undefined && reason.startsWith('{')) {
    try {
      const parsed = JSON.parse(reason) as { code?: unknown; message?: unknown };
      if (isErrorCode(parsed.code) && typeof parsed.message === 'string') {
        return { code: parsed.code, message: parsed.message };
      }
    } catch {
      // not ours: fall through
    }
  }
  return { code: 'INTERNAL_ERROR', message: reason ?? 'The job failed.' };
}

export function isCancelledFailure(error: ErrorRecord): boolean {
  return error.code === 'REQUEST_CANCELLED';
}

/** BullMQ's job states as ours; undefined for a job BullMQ no longer knows. */
export function statusOf(state: JobState | 'unknown', failure: ErrorRecord | undefined): JobStatus | undefined {
  switch (state) {
    case 'active':
      return 'running';
    case 'completed':
      return 'completed';
    case 'failed':
      return failure !== undefined && isCancelledFailure(failure) ? 'cancelled' : 'failed';
    case 'waiting':
    case 'waiting-children':
    case 'prioritized':
    case 'delayed':
      return 'queued';
    default:
      return undefined;
  }
}

/** Progress as the worker stores it (`{ fraction, stage }`), or a bare number, as 0 to 1. */
export function fractionOf(progress: unknown): number {
  const value =
    typeof progress === 'number' ? progress : typeof progress === 'object' && progress !== null ? (progress as { fraction?: unknown }).fraction : 0;
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}

export function stageOf(progress: unknown): string | undefined {
  const stage = typeof progress === 'object' && progress !== null ? (progress as { stage?: unknown }).stage : undefined;
  return typeof stage === 'string' ? stage : undefined;
}
