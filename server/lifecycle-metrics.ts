import { Counter, Histogram, type Registry } from 'prom-client';
import { type ModelJob } from '../store/types.js';

/** What model jobs and the review queue record. */
export interface LifecycleMetrics {
  jobFinished(job: ModelJob): void;
  reviewEvent(action: string): void;
}

/** Model-job and review metrics on the service's registry. */
export function registerLifecycleMetrics(registry: Registry): LifecycleMetrics {
  const registers = [registry];
  const jobs = new Counter({
    name: 'capserve_model_jobs_total',
    help: 'Train, evaluate and predict jobs finished, by type and outcome (completed, failed, cancelled).',
    labelNames: ['type', 'status'],
    registers,
  });
  const duration = new Histogram({
    name: 'capserve_model_job_duration_seconds',
    help: 'Model jobs from acceptance to completion.',
    labelNames: ['type'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers,
  });
  const reviews = new Counter({
    name: 'capserve_review_events_total',
    help: 'Review queue events: review.created, review.assigned, review.escalated, review.resolved, reviewer.added, reviewer.updated.',
    labelNames: ['action'],
    registers,
  });
  return {
    jobFinished(job) {
      jobs.inc({ type: job.type, status: job.status });
      if (job.status === 'completed' && job.finishedAt !== undefined) duration.observe({ type: job.type }, (job.finishedAt - job.createdAt) / 1000);
    },
    reviewEvent: (action) => reviews.inc({ action }),
  };
}
