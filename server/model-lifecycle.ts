import { type FastifyBaseLogger } from 'fastify';
import { type ModelRepository } from '../models/repository/model-repository.js';
import { type ModelJob, type Store } from '../store/types.js';
import { ModelJobs } from '../training/model-jobs.js';
import { createModelJobRunner } from '../training/run-model-job.js';
import { type ServerConfig } from './config.js';
import { type CapserveService } from '../engine/service.js';

/**
 * Train, evaluate and predict jobs over the running service. A registered capability is
 * stored, then the configuration reloads with it; if that reload fails, the registration is
 * withdrawn (unless it replaced an earlier one) and the job fails with the reason.
 */
export function createModelJobs(
  service: CapserveService,
  store: Store,
  repository: ModelRepository,
  reload: () => Promise<unknown>,
  config: Pick<ServerConfig, 'modelJobConcurrency' | 'modelJobLeaseMs' | 'workerId' | 'maxTrainingExamples' | 'maxBatchTexts' | 'maxTextsPerRequest'>,
  logger: FastifyBaseLogger,
  onFinished?: (job: ModelJob) => void,
): ModelJobs {
  const runner = createModelJobRunner({
    store,
    repository,
    analyse: (texts, capabilities, signal) => service.analyse({ texts, capabilities, signal, priority: 'low' }),
    groupSize: Math.min(config.maxBatchTexts, config.maxTextsPerRequest),
    maxExamples: config.maxTrainingExamples,
    serves: (model) => service.capabilitySpecs().some((spec) => spec.kind === 'trained-classifier' && spec.params.model === model),
    reload,
    register: async (name, spec) => {
      const before = (await store.listCapabilities()).find((entry) => entry.name === name);
      await store.putCapability({ name, spec, createdAt: Date.now() });
      try {
        await reload();
      } catch (error) {
        if (before === undefined) await store.deleteCapability(name);
        else await store.putCapability(before);
        throw error;
      }
      await store.appendAudit({ at: Date.now(), actor: 'system', action: 'capability.registered', subject: `capability:${name}`, details: { spec } });
    },
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
