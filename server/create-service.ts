import { type FastifyBaseLogger } from 'fastify';
import { buildCapabilities } from '../capabilities/build.js';
import { type CapabilitiesConfig } from '../capabilities/config-schema.js';
import { defaultLoaders } from '../models/loaders.js';
import { workerLoaders } from '../models/worker-backend.js';
import { ModelPool } from '../models/pool.js';
import { type BackendKind, type BackendLoader } from '../models/types.js';
import { type ServerConfig } from './config.js';
import { CapserveService } from './service.js';

/** Wires a service from the server configuration and a parsed capabilities file. */
export function createService(
  config: ServerConfig,
  capabilities: CapabilitiesConfig,
  logger: FastifyBaseLogger,
  loaders: Readonly<Record<BackendKind, BackendLoader>> = config.modelThreads === 'worker' ? workerLoaders : defaultLoaders,
): CapserveService {
  const pool = new ModelPool(
    capabilities.models,
    {
      modelsDir: config.modelsDir,
      device: config.device,
      allowRemoteModels: config.allowRemoteModels,
      intraOpThreads: config.intraOpThreads,
      modelRepository: config.modelRepository,
    },
    loaders,
    undefined,
    config.maxBatchTexts,
  );
  return new CapserveService({
    pool,
    build: (loaded) => buildCapabilities(capabilities, loaded, config.capabilitiesConfig),
    batcher: {
      windowMs: config.batchWindowMs,
      maxBatchTexts: config.maxBatchTexts,
      maxBatchTokens: config.maxBatchTokens,
      mode: config.batchMode,
      maxConcurrentBatches: config.maxConcurrentBatches,
      capabilityTimeoutMs: config.capabilityTimeoutMs,
    },
    resultCache: { maxEntries: config.resultCacheSize, ttlMs: config.resultCacheTtlMs },
    maxQueuedTexts: config.maxQueuedTexts,
    loadFailure: config.modelLoadFailure,
    logger,
  });
}
