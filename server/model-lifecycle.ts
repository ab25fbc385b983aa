import { type FastifyBaseLogger } from 'fastify';
import { type ModelRepository } from '../models/repository/model-repository.js';
import { type ModelJob, type Store } from '../store/types.js';
import { ModelJobs } from '../training/model-jobs.js';
import { createModelJobRunner } from '../training/run-model-job.js';
import { type ServerConfig } from './config.js';
import { type CapserveService } from '../engine/service.js';
import { type AdoptVersion } from './adopt-version.js';

/**
 * Train, evaluate and predict jobs over the running service. A new version becomes default,
 * and a capability is registered, through `adopt` (`versionAdopter` in adopt-version.ts): only after the
 * configuration has reloaded with it, so a failed job leaves the default and the registered
 * capabilities where they were.
 */
export function createModelJobs(
  service: CapserveService,
  store: Store,
  repository: ModelRepository,
  adopt: AdoptVersion,
  config: Pick<ServerConfig, 'modelJobConcurrency' | 'modelJobLeaseMs' | 'workerId' | 'maxTrainingExamples' | 'maxTrainingSeconds' | 'maxTrainingMemoryMb' | 'maxBatchTexts' | 'maxTextsPerRequest'>,
  logger: FastifyBaseLogger,
  onFinished?: (job: ModelJob) => void,
): ModelJobs {
  const runner = createModelJobRunner({
    store,
    repository,
    analyse: (texts, capabilities, signal) => service.analyse({ texts, capabilities, signal, priority: 'low' }),
    groupSize: Math.min(config.maxBatchTexts, config.maxTextsPerRequest),
    maxExamples: config.maxTrainingExamples,
    limits: { timeLimitMs: config.maxTrainingSeconds * 1000, memoryMb: config.maxTrainingMemoryMb },
    adopt,
  });
  return new ModelJobs({
    store,
    run: runner,
    concurrency: config.modelJobConcurrency,
    owner: config.workerId,
    leaseMs: config.modelJobLeaseMs,
    onError: (error) => logger.warn({ err: error }, 'model job store write failed'),
    ...(onFinished === undefined ? {} : { onFinished }),
  });
}
