import { type FastifyBaseLogger } from 'fastify';
import { buildCapabilities } from '../capabilities/build.js';
import { type CapabilitiesConfig } from '../capabilities/config-schema.js';
import { defaultLoaders } from '../models/loaders.js';
import { workerLoaders } from '../models/worker-backend.js';
import { ModelPool } from '../models/pool.js';
import { type BackendKind, type BackendLoader } from '../models/types.js';
import { loadCapabilitiesConfig } from '../capabilities/load-config.js';
import { withRegistered } from '../capabilities/registered-capabilities.js';
import { type ModelRepository } from '../models/repository/model-repository.js';
import { type RegisteredCapability } from '../capabilities/registered-capabilities.js';
import { type ServerConfig } from './config.js';
import { CapserveError, isCapserveError, messageOf } from '../core/errors.js';
import { CapserveService, type ServiceOptions } from '../engine/service.js';

type Loaders = Readonly<Record<BackendKind, BackendLoader>>;

/** Where capabilities come from besides the configuration file. */
export interface CapabilitySources {
  /** Read by `trained-classifier` capabilities. */
  readonly repository?: ModelRepository;
  /** Capabilities registered at run time (`POST /train` with `register`), read again on every reload. */
  readonly registered?: () => Promise<readonly RegisteredCapability[]>;
}

export const loadersFor = (config: ServerConfig): Loaders => (config.modelThreads === 'worker' ? workerLoaders : defaultLoaders);

/** The (not yet loaded) model pool of a capabilities configuration. */
function createPool(config: ServerConfig, capabilities: CapabilitiesConfig, loaders: Loaders): ModelPool {
  return new ModelPool(
    capabilities.models,
    {
      modelsDir: config.modelsDir,
      device: config.device,
      allowRemoteModels: config.allowRemoteModels,
      intraOpThreads: config.intraOpThreads,
      modelRepository: config.modelRepository,
    },
    loaders,
    { maxCallTexts: config.maxBatchTexts, ...(config.measureCostCurve ? { costCurve: {} } : {}) },
  );
}

/** Wires a service from the server configuration and a parsed capabilities file. */
export function createService(
  config: ServerConfig,
  capabilities: CapabilitiesConfig,
  logger: FastifyBaseLogger,
  loaders: Loaders = loadersFor(config),
  sources: CapabilitySources = {},
  onReply?: ServiceOptions['onReply'],
): CapserveService {
  return new CapserveService({
    pool: createPool(config, capabilities, loaders),
    build: (loaded) => buildCapabilities(capabilities, loaded, config.capabilitiesConfig, sources.repository),
    ...(onReply === undefined ? {} : { onReply }),
    batcher: {
      windowMs: config.batchWindowMs,
      maxBatchTexts: config.maxBatchTexts,
      maxBatchTokens: config.maxBatchTokens,
      mode: config.batchMode,
      maxConcurrentBatches: config.maxConcurrentBatches,
      capabilityTimeoutMs: config.capabilityTimeoutMs,
    },
    targetLatencyMs: config.targetLatencyMs,
    resultCache: { maxEntries: config.resultCacheSize, ttlMs: config.resultCacheTtlMs },
    maxQueuedTexts: config.maxQueuedTexts,
    maxQueueWaitMs: config.maxQueueWaitMs,
    loadFailure: config.modelLoadFailure,
    logger,
  });
}

/**
 * `POST /admin/reload`: reads CAPABILITIES_CONFIG again and swaps it in (see
 * {@link CapserveService.reload}). A bad file or a model that fails to load is RELOAD_REJECTED
 * with the reason, and the running configuration stays.
 */
export async function reloadCapabilities(
  service: CapserveService,
  config: ServerConfig,
  sources: CapabilitySources = {},
  loaders: Loaders = loadersFor(config),
): Promise<{ capabilities: string[] }> {
  let capabilities: CapabilitiesConfig;
  try {
    capabilities = await loadConfiguredCapabilities(config, sources, (message) => service.logger.warn(message));
  } catch (error) {
    throw new CapserveError('RELOAD_REJECTED', `the new configuration is invalid; the running one stays: ${messageOf(error)}`);
  }
  try {
    await service.reload(createPool(config, capabilities, loaders), (loaded) => buildCapabilities(capabilities, loaded, config.capabilitiesConfig, sources.repository));
  } catch (error) {
    if (isCapserveError(error) && (error.code === 'SHUTTING_DOWN' || error.code === 'NOT_READY')) throw error;
    throw new CapserveError('RELOAD_REJECTED', `the new configuration did not load; the running one stays: ${messageOf(error)}`);
  }
  return { capabilities: service.capabilityNames() };
}

/** CAPABILITIES_CONFIG with the registered capabilities added (see {@link withRegistered}). */
export async function loadConfiguredCapabilities(
  config: Pick<ServerConfig, 'capabilitiesConfig'>,
  sources: CapabilitySources,
  warn: (message: string) => void,
): Promise<CapabilitiesConfig> {
  const file = await loadCapabilitiesConfig(config.capabilitiesConfig);
  return withRegistered(file, (await sources.registered?.()) ?? [], warn);
}
