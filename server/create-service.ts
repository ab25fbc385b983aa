import path from 'node:path';
import { type FastifyBaseLogger } from 'fastify';
import { buildCapabilities } from '../capabilities/build.js';
import { type CapabilitiesConfig } from '../capabilities/config-schema.js';
import { defaultLoaders } from '../models/loaders.js';
import { workerLoaders } from '../models/worker-backend.js';
import { ModelPool } from '../models/pool.js';
import { type BackendKind, type BackendLoader } from '../models/types.js';
import { loadCapabilitiesConfig } from '../capabilities/load-config.js';
import { withRegistered } from '../capabilities/registered-capabilities.js';
import { pinVersion, type VersionPin } from '../capabilities/pin-version.js';
import { type ModelRepository } from '../models/repository/model-repository.js';
import { type RegisteredCapability } from '../capabilities/registered-capabilities.js';
import { type ServerConfig } from './config.js';
import { CapserveError, isCapserveError, messageOf } from '../core/errors.js';
import { redactPaths } from '../core/redact-paths.js';
import { CapserveService, type ServiceOptions } from '../engine/service.js';
import { type SpeechHolder } from '../models/speech/speech-holder.js';
import { openSpeech, type PreparedSpeech, prepareSpeech, type SpeechReport, speechReport } from '../models/speech/reload-speech.js';

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
    build: (loaded) => buildCapabilities(capabilities, loaded, config.capabilitiesConfig, sources.repository, config.modelLoadFailure),
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

/** What a reload checks besides the file as it is: a version about to become default, capabilities it must bring. */
export interface ReloadChange {
  /** Load this version where the configuration reads the model's default, and require every capability that reads it. */
  readonly pin?: VersionPin;
  /** Capabilities that must be available afterwards (e.g. one being registered). */
  readonly require?: readonly string[];
}

/** The speech backend a reload follows: the file's `speech` section, its paths relative to `configDir`. */
export interface SpeechReloadTarget {
  readonly holder: SpeechHolder;
  readonly configDir: string;
}

/**
 * The capabilities file's speech backend, loaded and held so a reload can replace it (paths in
 * the `speech` section are relative to the file). One that does not load is logged and leaves
 * transcription unavailable with its reason; the process still starts.
 */
export async function openConfiguredSpeech(config: ServerConfig, capabilities: CapabilitiesConfig, logger: FastifyBaseLogger): Promise<SpeechReloadTarget> {
  const configDir = path.dirname(path.resolve(config.capabilitiesConfig));
  const holder = await openSpeech(capabilities.speech, configDir, (error) => logger.warn({ err: error }, 'closing a replaced speech backend failed'));
  const { recognizer, code, unavailable } = holder.current();
  if (recognizer === undefined && code !== undefined) logger.warn({ code, reason: unavailable }, 'speech-to-text unavailable');
  return { holder, configDir };
}

/** What a reload serves now: the capabilities and, when it follows the speech backend, what became of it. */
export interface ReloadResult {
  capabilities: string[];
  speech?: SpeechReport;
}

/**
 * `POST /admin/reload`: reads CAPABILITIES_CONFIG again and swaps it in (see
 * {@link CapserveService.reload}). A bad file, a model that fails to load, or a capability
 * that would become unavailable is RELOAD_REJECTED with the reason, and the running
 * configuration stays. With `speech`, a changed `speech` section loads its backend first (see
 * {@link prepareSpeech}: a new backend that does not load is rejected the same way), and the
 * new backend is swapped in only once the capabilities have been, so nothing changes unless
 * everything loaded.
 */
export async function reloadCapabilities(
  service: CapserveService,
  config: ServerConfig,
  sources: CapabilitySources = {},
  loaders: Loaders = loadersFor(config),
  change: ReloadChange = {},
  speech?: SpeechReloadTarget,
): Promise<ReloadResult> {
  let capabilities: CapabilitiesConfig;
  let require = change.require ?? [];
  try {
    capabilities = await loadConfiguredCapabilities(config, sources, (message) => service.logger.warn(message));
    if (change.pin !== undefined) {
      const pinned = pinVersion(capabilities, change.pin);
      capabilities = pinned.config;
      require = [...require, ...pinned.readers];
    }
  } catch (error) {
    throw new CapserveError('RELOAD_REJECTED', `the new configuration is invalid; the running one stays: ${redactPaths(messageOf(error))}`);
  }
  let prepared: PreparedSpeech | undefined;
  if (speech !== undefined) {
    try {
      prepared = await prepareSpeech(speech.holder, capabilities.speech, speech.configDir);
    } catch (error) {
      service.logger.warn({ err: error }, 'speech backend did not load: reload rejected');
      throw new CapserveError('RELOAD_REJECTED', `the new speech backend did not load; the running configuration stays: ${redactPaths(messageOf(error))}`);
    }
  }
  try {
    await service.reload(
      createPool(config, capabilities, loaders),
      (loaded) => buildCapabilities(capabilities, loaded, config.capabilitiesConfig, sources.repository, config.modelLoadFailure),
      { require },
    );
  } catch (error) {
    await prepared?.discard();
    if (isCapserveError(error) && (error.code === 'SHUTTING_DOWN' || error.code === 'NOT_READY')) throw error;
    // The answer goes to the client: model paths relative to the project, nothing outside it.
    throw new CapserveError('RELOAD_REJECTED', `the new configuration did not load; the running one stays: ${redactPaths(messageOf(error))}`);
  }
  if (speech === undefined || prepared === undefined) return { capabilities: service.capabilityNames() };
  prepared.commit();
  const report = speechReport(prepared.change, speech.holder);
  logSpeechChange(service, report);
  return { capabilities: service.capabilityNames(), speech: { ...report, ...(report.unavailable === undefined ? {} : { unavailable: redactPaths(report.unavailable) }) } };
}

function logSpeechChange(service: CapserveService, report: SpeechReport): void {
  const { logger } = service;
  if (report.change === 'none') logger.debug({ speech: report }, 'speech backend unchanged: kept');
  else if (report.change === 'loaded') logger.info({ speech: report }, 'speech backend reloaded: new transcriptions use it, running ones finish on the old');
  else if (report.change === 'removed') logger.info({ speech: report }, 'speech section removed: transcription unavailable once running ones finish');
  else logger.warn({ speech: report }, 'speech backend still does not load: transcription stays unavailable');
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
