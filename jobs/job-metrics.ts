import { Counter, Gauge, type Registry } from 'prom-client';
import { type JobQueue, type QueueName, type Route } from './types.js';

/** How one attempt at a queued job ended in this process; `cancelled` when its signal aborted (cancel or shutdown). */
export type JobAttemptOutcome = 'completed' | 'failed' | 'cancelled';

/** One finished attempt at a queued job. */
export interface JobAttempt {
  readonly queue: QueueName;
  readonly outcome: JobAttemptOutcome;
  readonly jobId: string;
  /** The request that submitted the job, when it carried one. */
  readonly requestId?: string;
  readonly durationMs: number;
  /** The error code of a failed attempt. */
  readonly code?: string;
}

/** Told of every job attempt a local runner finishes; it must not throw. */
export type JobAttemptObserver = (attempt: JobAttempt) => void;

/**
 * `capserve_job_attempts_total` on the service's registry: each attempt at a queued job this
 * process ran, by queue and outcome (a retried job counts every attempt). Queue workers in
 * other processes (`npm run worker`) count their own, on their own `/metrics` (WORKER_PORT).
 */
export function registerJobAttemptMetrics(registry: Registry): JobAttemptObserver {
  const attempts = new Counter({
    name: 'capserve_job_attempts_total',
    help: 'Attempts at queued /process jobs run in this process, by queue and outcome (completed, failed, cancelled).',
    labelNames: ['queue', 'outcome'],
    registers: [registry],
  });
  return ({ queue, outcome }) => attempts.inc({ queue, outcome });
}

/** What `/process` records per job. */
export interface JobMetrics {
  routed(route: Route): void;
}

/**
 * Job metrics on the service's registry: `/process` jobs by route, and each queue's waiting and
 * running jobs, read from the queue at scrape time (on Redis: the whole cluster's queue).
 */
export function registerJobMetrics(registry: Registry, queues: ReadonlyMap<QueueName, JobQueue>): JobMetrics {
  const registers = [registry];
  const routed = new Counter({
    name: 'capserve_process_jobs_total',
    help: '/process jobs by the route the planner chose (inline = through the batcher).',
    labelNames: ['route'],
    registers,
  });
  new Gauge({
    name: 'capserve_job_queue_jobs',
    help: 'Jobs on each CPU queue, waiting or running.',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const [name, queue] of queues) {
        try {
          const counts = await queue.counts();
          this.set({ queue: name, state: 'waiting' }, counts.waiting);
          this.set({ queue: name, state: 'running' }, counts.running);
        } catch {
          // Redis unreachable: the gauge leaves this queue out rather than failing the scrape.
        }
      }
    },
  });
  return { routed: (route) => routed.inc({ route }) };
}
