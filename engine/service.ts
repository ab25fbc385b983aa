import { type FastifyBaseLogger } from 'fastify';
import { BatchStats, combineObservers } from '../batcher/batch-stats.js';
import { Batcher, batcherDefaults } from '../batcher/batcher.js';
import { type BatchPolicy, latencyBudgetPolicy } from '../batcher/batch-policy.js';
import { ResultStore, type ResultStoreStats } from '../batcher/result-store.js';
import { settlesWithin, systemTime, type Time } from '../core/time.js';
import { type BatchReply, type BatchRequest, type BatcherOptions } from '../batcher/types.js';
import { type BuiltCapabilities } from '../capabilities/build.js';
import { checkKnown, checkRequested } from '../capabilities/check-requested.js';
import { modelBehind } from '../capabilities/model-behind.js';
import { type CapabilitySpec } from '../capabilities/config-schema.js';
import { type LoadFailurePolicy, type ModelPool } from '../models/pool.js';
import { type ModelInfo, type TokenizedText } from '../models/types.js';
import { CapserveError } from '../core/errors.js';
import { endSpan, startSpan } from '../core/tracing.js';
import { Metrics } from './metrics.js';

export type Phase = 'starting' | 'ready' | 'stopping' | 'stopped';

export interface ServiceOptions {
  readonly pool: ModelPool;
  /** Builds the capability registry once the pool has loaded. */
  readonly build: (pool: ModelPool) => Promise<BuiltCapabilities>;
  readonly batcher: BatcherOptions;
  /**
   * Latency budget of a batch's oldest request (wait plus predicted run, from the pool's cost
   * curves); the batcher takes the largest batch that fits. 0: the fixed batcher limits. @default 0
   */
  readonly targetLatencyMs?: number;
  /** Cross-batch result sharing: in-flight always, finished results when `maxEntries > 0`. @default no cache */
  readonly resultCache?: { readonly maxEntries: number; readonly ttlMs: number };
  /** Texts queued or running before new requests are refused with OVERLOADED (429). @default no limit */
  readonly maxQueuedTexts?: number;
  /**
   * Longest predicted wait (backlog plus the request's texts over the measured throughput, while
   * every batch slot is busy) before a request is refused with OVERLOADED (429). 0: off. @default 0
   */
  readonly maxQueueWaitMs?: number;
  readonly loadFailure: LoadFailurePolicy;
  readonly logger: FastifyBaseLogger;
  /** @default systemTime */
  readonly time?: Time;
  /**
   * Told of every answered request with the specs of the configuration that answered it (the
   * review queue reads its rules there). Called after the reply is settled; it must not throw.
   */
  readonly onReply?: (request: BatchRequest, reply: BatchReply, specs: ReadonlyMap<string, CapabilitySpec>) => void;
}

/** What a reload must keep or bring, besides not losing a capability that serves now. */
export interface ReloadOptions {
  /** Capabilities that must be available in the new configuration (e.g. one being registered, or those reading a version about to become default). */
  readonly require?: readonly string[];
}

/** One line of `GET /capabilities`. */
export interface CapabilityDescription {
  readonly name: string;
  readonly dependsOn: readonly string[];
  readonly kind: string;
  readonly model: string | null;
  readonly backend: string | null;
  readonly device: string | null;
  /** The adapter behind an accelerator (see ModelInfo.adapter). */
  readonly adapter?: string;
  /** Tokens per text of the model behind the capability (its own, else its dependency's); absent when none is loaded. */
  readonly maxTokens?: number;
  /** Output vector length of the model behind the capability; absent when none is loaded. */
  readonly dimensions?: number;
  readonly available: boolean;
  readonly reason?: string;
}

/**
 * The long-lived core behind the HTTP API: the model pool, the capability registry and the
 * batcher, with the phase that readiness and shutdown follow.
 */
export class CapserveService {
  #pool: ModelPool;
  readonly stats = new BatchStats();
  readonly metrics: Metrics;
  #phase: Phase = 'starting';
  #draining = false;
  #capabilities: BuiltCapabilities | undefined;
  #batcher: Batcher | undefined;
  readonly #options: ServiceOptions;
  readonly #results: ResultStore;

  constructor(options: ServiceOptions) {
    this.#options = options;
    this.#pool = options.pool;
    this.#results = new ResultStore({
      maxEntries: options.resultCache?.maxEntries ?? 0,
      ttlMs: options.resultCache?.ttlMs ?? 300_000,
      time: options.time ?? systemTime,
    });
    this.metrics = new Metrics({
      queuedTexts: () => this.#batcher?.queuedTexts ?? 0,
      runningTexts: () => this.#batcher?.runningTexts ?? 0,
      models: () => this.pool.status(),
      ready: () => this.ready && !this.#draining,
    });
    this.#pool.observe(this.metrics.models);
  }

  get logger(): FastifyBaseLogger {
    return this.#options.logger;
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Started, not shutting down, and no model reloading a crashed instance. */
  /**
   * Set by {@link drain}: the service still accepts work but asks to be taken out of rotation
   * (readiness answers 503) before it stops.
   */
  get draining(): boolean {
    return this.#draining;
  }

  /** Starts the drain before a stop: work is still accepted; readiness reports `draining`. */
  drain(): void {
    if (this.#phase === 'ready') this.#draining = true;
  }

  get ready(): boolean {
    return this.#phase === 'ready' && !this.pool.reloading;
  }

  /** The models in use (after a reload, the new configuration's). */
  get pool(): ModelPool {
    return this.#pool;
  }

  /** Loads every model, builds the capabilities and opens the batcher. */
  async start(): Promise<void> {
    const built = await this.#prepare(this.#pool, this.#options.build);
    this.#capabilities = built;
    this.#batcher = this.#newBatcher(built);
    if (this.#phase === 'starting') this.#phase = 'ready';
  }

  /**
   * Swaps in a new configuration atomically: its models load and its capabilities build beside
   * the running ones; if that fails, nothing changes and the error is thrown. Then new requests
   * go to the new batcher while batches already running finish on the old one, whose models
   * are released after it drains. Cached results are dropped (the capabilities may differ).
   */
  async reload(pool: ModelPool, build: (pool: ModelPool) => Promise<BuiltCapabilities>, options: ReloadOptions = {}): Promise<void> {
    if (this.#phase !== 'ready') throw new CapserveError(this.#phase === 'starting' ? 'NOT_READY' : 'SHUTTING_DOWN');
    let built: BuiltCapabilities;
    pool.observe(this.metrics.models);
    try {
      built = await this.#prepare(pool, build);
      this.#checkNothingLost(built, options.require ?? []);
    } catch (error) {
      await pool.close();
      throw error;
    }
    const [oldBatcher, oldPool] = [this.#batcher, this.#pool];
    this.#pool = pool;
    this.#capabilities = built;
    this.#batcher = this.#newBatcher(built);
    this.#results.clear();
    this.#options.logger.info({ capabilities: built.registry.names() }, 'configuration reloaded');
    await oldBatcher?.close();
    await oldPool.close();
  }

  /**
   * Under MODEL_LOAD_FAILURE=degrade a new configuration builds even when a model or a
   * capability fails, so a reload checks what start-up does not: it may not make unavailable
   * a capability that is not unavailable now (one already down at start may stay down, so a
   * single broken model does not block every later reload), and the capabilities it must
   * bring (`require`) must be available. Otherwise the running configuration stays.
   */
  #checkNothingLost(built: BuiltCapabilities, require: readonly string[]): void {
    const before = this.#capabilities?.unavailable ?? new Map<string, string>();
    const lost = [...built.unavailable].filter(([name]) => !before.has(name) || require.includes(name));
    const missing = require.filter((name) => !built.registry.has(name) && !built.unavailable.has(name));
    if (lost.length === 0 && missing.length === 0) return;
    const reasons = [...lost.map(([name, reason]) => `capability "${name}" would be unavailable: ${reason}`), ...missing.map((name) => `capability "${name}" is not configured`)];
    throw new CapserveError('CAPABILITY_UNAVAILABLE', reasons.join('; '), { details: { unavailable: [...lost.map(([name]) => name), ...missing] } });
  }

  async #prepare(pool: ModelPool, build: (pool: ModelPool) => Promise<BuiltCapabilities>): Promise<BuiltCapabilities> {
    const { logger } = this.#options;
    await pool.load(this.#options.loadFailure);
    for (const model of pool.status()) {
      if (model.state === 'failed') logger.error({ model: model.name, source: model.source, err: model.error }, 'model failed to load');
      else logger.info({ model: model.name, backend: model.backend, device: model.info?.device, loadMs: model.loadMs }, 'model loaded');
    }
    const built = await build(pool);
    for (const [name, reason] of built.unavailable) logger.warn({ capability: name, reason }, 'capability unavailable');
    return built;
  }

  #newBatcher(built: BuiltCapabilities): Batcher {
    const { logger } = this.#options;
    return new Batcher(built.registry, this.#options.batcher, {
      observer: combineObservers(this.stats, this.metrics, {
        batchFinished: (event) => logger.debug({ batchId: event.id, ...event }, 'batch finished'),
        capabilityFinished: (event) => {
          if (!event.ok) logger.warn({ batchId: event.batchId, capability: event.capability, texts: event.texts }, 'capability failed');
        },
      }),
      ...(this.#options.time ? { time: this.#options.time } : {}),
      store: this.#results,
      ...this.#policy(),
    });
  }

  /** The latency-budget policy over the current pool's cost curves (each reload measures its own). */
  #policy(): { policy?: BatchPolicy } {
    const targetLatencyMs = this.#options.targetLatencyMs ?? 0;
    if (targetLatencyMs <= 0) return {};
    const { maxBatchTexts, maxBatchTokens = batcherDefaults.maxBatchTokens } = this.#options.batcher;
    const pool = this.#pool;
    return {
      policy: latencyBudgetPolicy({
        curves: pool.costCurves(),
        targetLatencyMs,
        max: { maxBatchTexts, maxBatchTokens },
        backlogTexts: (model) => pool.backlogTexts(model),
      }),
    };
  }

  /** Runs a request's capabilities over its texts: checks it against the registry, then queues it in the batcher. */
  analyse(request: BatchRequest): Promise<BatchReply> {
    // The decision only: the request's wait and run are its `queue wait` and the batch's spans.
    const admission = startSpan('admission', { attributes: { 'capserve.texts': request.texts.length } });
    const refuse = (error: unknown): Promise<never> => {
      endSpan(admission, error);
      return Promise.reject(error);
    };
    const batcher = this.#batcher;
    const capabilities = this.#capabilities;
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return refuse(new CapserveError('SHUTTING_DOWN'));
    if (batcher === undefined || capabilities === undefined) return refuse(new CapserveError('NOT_READY'));
    const overloaded = this.#admit(batcher, request.texts.length);
    if (overloaded !== undefined) {
      this.metrics.rejected('overloaded');
      return refuse(overloaded);
    }
    try {
      checkRequested(request.capabilities, capabilities.registry.names());
    } catch (error) {
      return refuse(error);
    }
    const blocked = capabilities.registry.resolve(request.capabilities).filter((name) => capabilities.unavailable.has(name));
    if (blocked.length > 0) {
      return refuse(
        new CapserveError('CAPABILITY_UNAVAILABLE', blocked.map((name) => `${name}: ${capabilities.unavailable.get(name)}`).join('; '), {
          details: { unavailable: blocked },
        }),
      );
    }
    endSpan(admission);
    const onReply = this.#options.onReply;
    if (onReply === undefined) return batcher.submit(request);
    return batcher.submit(request).then((reply) => {
      try {
        onReply(request, reply, capabilities.specs);
      } catch (error) {
        this.#options.logger.error({ err: error }, 'reply observer failed');
      }
      return reply;
    });
  }

  /**
   * Admission control, before any work: OVERLOADED when the backlog plus this request's texts
   * pass MAX_QUEUED_TEXTS (the hard cap), or when they would take longer than MAX_QUEUE_WAIT_MS
   * to drain at the measured rate. The wait is predicted only while every batch slot is busy: a
   * request that finds a free slot starts at once, and a lightly loaded server's throughput is
   * its arrival rate, not its capacity, so dividing by it would refuse requests an idle machine
   * could serve. The client is told when the backlog should have drained at the measured rate.
   */
  #admit(batcher: Batcher, texts: number): CapserveError | undefined {
    const backlog = batcher.queuedTexts + batcher.runningTexts;
    const limit = this.#options.maxQueuedTexts ?? Number.POSITIVE_INFINITY;
    const rate = batcher.textsPerSecond();
    const retryAfterSeconds = Math.min(300, Math.max(1, Math.ceil(rate > 0 ? backlog / rate : 5)));
    if (backlog + texts > limit) {
      return new CapserveError('OVERLOADED', `${backlog} texts are queued or running (limit ${limit}); retry in about ${retryAfterSeconds} s`, {
        details: { retryAfterSeconds, queuedTexts: backlog, limit },
      });
    }
    const maxQueueWaitMs = this.#options.maxQueueWaitMs ?? 0;
    if (maxQueueWaitMs <= 0 || rate <= 0 || !batcher.saturated) return undefined;
    const predictedWaitMs = Math.ceil(((backlog + texts) * 1000) / rate);
    if (predictedWaitMs <= maxQueueWaitMs) return undefined;
    return new CapserveError(
      'OVERLOADED',
      `${backlog} texts are queued or running; at ${Math.round(rate)} texts/s this request would wait about ${predictedWaitMs} ms (limit ${maxQueueWaitMs} ms); retry in about ${retryAfterSeconds} s`,
      { details: { retryAfterSeconds, queuedTexts: backlog, ...(Number.isFinite(limit) ? { limit } : {}), predictedWaitMs, maxQueueWaitMs } },
    );
  }

  /** Cross-batch sharing and the result cache: size, hits, in-flight hits, misses, hit rate. */
  resultCacheStats(): ResultStoreStats {
    return this.#results.stats();
  }

  /** The configuration of every capability in service; empty until started. */
  capabilitySpecs(): CapabilitySpec[] {
    return [...(this.#capabilities?.specs.values() ?? [])];
  }

  /** Registered capability names; empty until started. */
  capabilityNames(): string[] {
    return this.#capabilities?.registry.names() ?? [];
  }

  /** How busy the batcher is: texts queued or running over the batch size (0 idle, 1 a full batch). */
  load(): number {
    const batcher = this.#batcher;
    if (batcher === undefined) return 1;
    return (batcher.queuedTexts + batcher.runningTexts) / this.#options.batcher.maxBatchTexts;
  }

  describeCapabilities(): CapabilityDescription[] {
    const capabilities = this.#capabilities;
    if (capabilities === undefined) return [];
    return capabilities.registry.list().map((capability) => {
      const info = capability.model === undefined ? undefined : this.pool.info(capability.model);
      const behind = this.modelBehind(capability.name);
      const reason = capabilities.unavailable.get(capability.name);
      return {
        name: capability.name,
        dependsOn: capability.dependsOn,
        kind: capabilities.specs.get(capability.name)?.kind ?? 'custom',
        model: capability.model ?? null,
        backend: info?.backend ?? null,
        device: info?.device ?? (capability.model === undefined ? 'cpu' : null),
        ...(info?.adapter === undefined ? {} : { adapter: info.adapter }),
        ...(behind === undefined ? {} : { maxTokens: behind.maxTokens, dimensions: behind.dimensions }),
        available: reason === undefined,
        ...(reason === undefined ? {} : { reason }),
      };
    });
  }

  /**
   * Each text's tokens as the model behind `capability` sees them, untruncated, special tokens
   * included. The model is the capability's own, else the first found walking its `dependsOn`
   * (see {@link modelBehind}). The tokenizer runs in this thread, outside the batcher. Throws
   * UNKNOWN_CAPABILITY, NO_TOKENIZER when no model stands behind it, CAPABILITY_UNAVAILABLE when
   * that model is not loaded, NOT_READY or SHUTTING_DOWN.
   */
  tokenize(capability: string, texts: readonly string[]): Promise<TokenizedText[]> {
    try {
      return this.pool.tokenize(this.#modelNameBehind(capability), texts);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** How many tokens {@link tokenize} would give each text, without finding their offsets: the cheap call for counts and limits. */
  countTokens(capability: string, texts: readonly string[]): Promise<number[]> {
    try {
      return this.pool.countTokens(this.#modelNameBehind(capability), texts);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The ModelInfo of the model behind `capability` (same walk as {@link tokenize}); undefined when none, or it is not loaded. */
  modelBehind(capability: string): ModelInfo | undefined {
    const registry = this.#capabilities?.registry;
    const model = registry === undefined ? undefined : modelBehind(registry, capability);
    return model === undefined ? undefined : this.pool.info(model);
  }

  #modelNameBehind(capability: string): string {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') throw new CapserveError('SHUTTING_DOWN');
    const registry = this.#capabilities?.registry;
    if (registry === undefined) throw new CapserveError('NOT_READY');
    checkKnown([capability], registry.names());
    const model = modelBehind(registry, capability);
    if (model === undefined) {
      throw new CapserveError('NO_TOKENIZER', `capability "${capability}" has no model behind it, so it has no tokenizer`, { details: { capability } });
    }
    return model;
  }

  /** Stops accepting, finishes accepted batches (up to `graceMs`), then releases the models. */
  async stop(graceMs: number): Promise<void> {
    if (this.#phase === 'stopped') return;
    this.#phase = 'stopping';
    const drained = this.#batcher?.close() ?? Promise.resolve();
    if (!(await settlesWithin(drained, graceMs, this.#options.time))) this.#options.logger.warn({ graceMs }, 'shutdown grace period ended with batches still running');
    await this.pool.close();
    this.#phase = 'stopped';
  }
}
