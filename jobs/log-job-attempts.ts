import { type JobAttempt, type JobAttemptObserver } from './job-metrics.js';

/** The logger calls {@link logJobAttempts} makes (pino's and fastify's loggers have them). */
export interface JobAttemptLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * One line per finished attempt at a queued job, in whichever process ran it (a server or an
 * `npm run worker`): job id, the submitting request's id, queue, outcome, duration, and the
 * error code of a failed attempt. Info for completed and cancelled attempts, warn for failed ones.
 */
export function logJobAttempts(logger: JobAttemptLogger): JobAttemptObserver {
  return (attempt: JobAttempt) => {
    const fields = { ...attempt, durationMs: Math.round(attempt.durationMs) };
    if (attempt.outcome === 'failed') logger.warn(fields, 'job attempt failed');
    else logger.info(fields, `job attempt ${attempt.outcome}`);
  };
}

/** Tells every observer of each attempt, in order. */
export const allOf =
  (...observers: readonly JobAttemptObserver[]): JobAttemptObserver =>
  (attempt) => {
    for (const observer of observers) observer(attempt);
  };
