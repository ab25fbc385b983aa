import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { CapserveError, isRetryable, toErrorRecord } from '../../core/errors.js';
import { type JobPayload, type JobProcessor, type QueueName } from '../types.js';
import { BULLMQ_PREFIX, type BullmqConnectionOptions, cancelChannel, cancelledKey, encodeFailure } from './bullmq-common.js';
import { checkInteger } from './options.js';
import { openRedis } from './redis-connection.js';

export interface BullmqWorkerOptions extends BullmqConnectionOptions {
  /** Jobs this worker runs at once. */
  readonly concurrency: number;
  /**
   * How long a job's lock lasts without renewal (the worker renews it at half this). A worker
   * that dies holds its jobs this long at most before they count as stalled. @default 30000
   */
  readonly lockDurationMs?: number;
  /** How often workers look for stalled jobs and put them back in the queue. @default 30000 */
  readonly stalledIntervalMs?: number;
  /** Times a job may stall (its worker died) before it fails instead of being retried. @default 1 */
  readonly maxStalledCount?: number;
  /** Names this worker's Redis connections, for CLIENT LIST. */
  readonly workerName?: string;
}

export interface BullmqWorkerHandle {
  /** Waits for the running jobs to finish, then closes every connection. */
  close(): Promise<void>;
}

const cancelledMessage = 'The job was cancelled.';

/**
 * Runs `processor` on the jobs of a BullMQ queue. Stalled-job recovery is on: a job whose worker
 * died (its lock expired) is put back and run by another worker, up to `maxStalledCount` times.
 *
 * Failures reach Redis as {@link encodeFailure} JSON; permanent ones ({@link isPermanent}) and
 * cancellations are thrown as BullMQ `UnrecoverableError`s so they are never retried.
 * A cancel published by the queue aborts the job's signal; the job then ends cancelled even if
 * the processor returns a result.
 */
export function startBullmqWorker(name: QueueName, processor: JobProcessor, options: BullmqWorkerOptions): BullmqWorkerHandle {
  checkInteger('concurrency', options.concurrency, 1);
  const prefix = options.prefix ?? BULLMQ_PREFIX;
  const onError = options.onError ?? (() => {});
  const connectionName = `${prefix}:${name}:worker${options.workerName === undefined ? '' : `:${options.workerName}`}`;
  // BullMQ duplicates this one for its own (blocking) connections; we use it for the cancel markers.
  const client = openRedis(options.redisUrl, { connectionName, lazyConnect: true });
  const subscriber = openRedis(options.redisUrl, { connectionName: `${connectionName}:cancel` });
  client.on('error', onError);
  subscriber.on('error', onError);
  const running = new Map<string, AbortController>();

  subscriber.on('message', (_channel: string, jobId: string) => {
    running.get(jobId)?.abort(new CapserveError('REQUEST_CANCELLED'));
  });
  const subscribed = subscriber.subscribe(cancelChannel(prefix, name));
  subscribed.catch(onError);

  const cancelled = () => new UnrecoverableError(encodeFailure({ code: 'REQUEST_CANCELLED', message: cancelledMessage }));

  const run = async (job: Job<JobPayload, unknown, string>): Promise<unknown> => {
    const jobId = job.id ?? '';
    const controller = new AbortController();
    // Registered before the marker check, so a cancel published meanwhile is not missed.
    running.set(jobId, controller);
    let finished = false;
    try {
      if ((await client.get(cancelledKey(prefix, name, jobId))) !== null) throw cancelled();
      const result = await processor(job.data, {
        jobId,
        signal: controller.signal,
        progress: (fraction, stage) => {
          if (finished || controller.signal.aborted || !Number.isFinite(fraction)) return;
          const clamped = Math.min(1, Math.max(0, fraction));
          job.updateProgress(stage === undefined ? { fraction: clamped } : { fraction: clamped, stage }).catch(onError);
        },
      });
      if (controller.signal.aborted) throw cancelled();
      return result;
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      if (controller.signal.aborted) throw cancelled();
      const failure = encodeFailure(toErrorRecord(error));
      throw isRetryable(error) ? new Error(failure) : new UnrecoverableError(failure);
    } finally {
      finished = true;
      running.delete(jobId);
    }
  };

  const worker = new Worker<JobPayload, unknown, string>(name, run, {
    connection: client,
    prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 1,
    ...(options.workerName === undefined ? {} : { name: options.workerName }),
  });
  worker.on('error', onError);

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        try {
          await worker.close();
        } finally {
          await Promise.all([client.quit(), subscriber.quit()]);
        }
      })();
      return closing;
    },
  };
}
