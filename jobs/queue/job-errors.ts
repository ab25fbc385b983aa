import { isCapserveError, messageOf } from '../../server/errors.js';
import { type JobError } from '../types.js';

/** The code a failure gets when the thrown value carries none. */
export const DEFAULT_JOB_ERROR_CODE = 'INTERNAL_ERROR';

/** The code of a job that was cancelled while it ran (kept on the BullMQ side; never shown as `error`). */
export const CANCELLED_CODE = 'REQUEST_CANCELLED';

/**
 * Codes that no retry can fix: the input itself is wrong or unsupported. Processors may throw
 * plain errors with these codes (e.g. `UNSUPPORTED_MEDIA` from a file sniffer) as well as
 * `CapserveError`s.
 */
export const permanentErrorCodes: ReadonlySet<string> = new Set([
  'VALIDATION_ERROR',
  'UNSUPPORTED_MEDIA',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNKNOWN_CAPABILITY',
  'DUPLICATE_CAPABILITY',
  'PAYLOAD_TOO_LARGE',
  'TOO_MANY_TEXTS',
  'TEXT_TOO_LONG',
  CANCELLED_CODE,
]);

/**
 * Whether a processor's failure must fail the job at once instead of being retried.
 *
 * In order: `error.retryable === false` is permanent and `error.retryable === true` is not,
 * whatever the code; then a `CapserveError` with a 4xx status is permanent (the request is at
 * fault); then a string `error.code` listed in {@link permanentErrorCodes} is permanent.
 * Everything else (plain errors, timeouts, non-Error throws) is retried.
 */
export function isPermanent(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { retryable, code } = error as { retryable?: unknown; code?: unknown };
  if (retryable === false) return true;
  if (retryable === true) return false;
  if (isCapserveError(error)) return error.statusCode < 500;
  return typeof code === 'string' && permanentErrorCodes.has(code);
}

/** The `JobError` a thrown value becomes: its string `code` (else {@link DEFAULT_JOB_ERROR_CODE}) and its message. */
export function toJobError(error: unknown): JobError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return {
    code: typeof code === 'string' && code !== '' ? code : DEFAULT_JOB_ERROR_CODE,
    message: messageOf(error),
  };
}
