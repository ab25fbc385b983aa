import { type Priority } from '../types.js';

/** Options both queue implementations share. */
export interface RetryOptions {
  /** Tries in all for a job whose `add` does not say, including the first. @default 3 */
  readonly attempts?: number;
  /** Delay before the first retry; each later retry waits twice as long as the one before. @default 500 */
  readonly backoffMs?: number;
  /** How long a finished job's record (status, result, error) stays readable. @default 3_600_000 (1 h) */
  readonly resultTtlMs?: number;
}

export const retryDefaults = Object.freeze({
  attempts: 3,
  backoffMs: 500,
  resultTtlMs: 60 * 60 * 1000,
} satisfies Required<RetryOptions>);

/** `backoffMs * 2^(attempt - 1)`: the wait after the `attempt`-th try failed (the same curve as BullMQ's exponential backoff). */
export function backoffDelay(backoffMs: number, attempt: number): number {
  return backoffMs * 2 ** (attempt - 1);
}

/** Validates and fills the retry options once, at construction. */
export function resolveRetryOptions(options: RetryOptions): Readonly<Required<RetryOptions>> {
  const resolved = { ...retryDefaults, ...definedOnly(options) };
  checkInteger('attempts', resolved.attempts, 1);
  checkInteger('backoffMs', resolved.backoffMs, 0);
  checkInteger('resultTtlMs', resolved.resultTtlMs, 1);
  return Object.freeze(resolved);
}

export function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** p-queue runs greater numbers first. */
export const memoryPriority: Readonly<Record<Priority, number>> = Object.freeze({ high: 2, normal: 1, low: 0 });

/** BullMQ runs smaller numbers first (0 would mean "no priority", which BullMQ keeps in another list). */
export const bullmqPriority: Readonly<Record<Priority, number>> = Object.freeze({ high: 1, normal: 2, low: 3 });
