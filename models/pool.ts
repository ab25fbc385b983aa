import { availableParallelism } from 'node:os';
import { CapserveError, isCapserveError, messageOf } from '../core/errors.js';
import { type CostCurve, type CostCurveOptions, measureCostCurve } from './cost-curve.js';
import { type BackendCall, InstanceRunner } from './instance-runner.js';
import { startModelSpan } from './model-span.js';
import { endSpan } from '../core/tracing.js';
import { ModelRepository } from './repository/model-repository.js';
import { type PaddingStats, sumPadding } from './length-buckets.js';
import { describeSource, resolveModelSource } from './resolve-source.js';
import { loadTextTokenizer, type TextTokenizer, type TokenizerLoader } from './tokenizers.js';
import {
  type BackendKind,
  type BackendLoader,
  type Device,
  type LoadOptions,
  type ModelBackend,
  type ModelInfo,
  type ModelSpec,
  type RunOptions,
  type TokenizedText,
} from './types.js';
import { type Clock, systemTime } from '../core/time.js';

/** `reloading`: an instance crashed (its worker thread died) and is being loaded again. */
export type ModelState = 'pending' | 'loading' | 'ready' | 'reloading' | 'failed';

/** One backend call of a model, after queued calls were merged: what the model really ran. */
export interface ModelCallEvent {
  readonly model: string;
  readonly device: Device;
  /** Texts in the call: the batch size the model saw. */
  readonly texts: number;
  readonly durationMs: number;
  readonly ok: boolean;
}

/**
 * What a pool tells as it works; the engine's metrics implement it, so the models layer times
 * its calls without knowing who reads the timings. Methods must not throw.
 */
export interface PoolObserver {
  modelCalled?(event: ModelCallEvent): void;
  /** One attempt to load a crashed instance again; `ok: false` attempts repeating are a reload loop. */
  instanceReloaded?(event: { readonly model: string; readonly ok: boolean }): void;
}

/** What `/health/ready`, `/capabilities` and `/metrics` report about one model. */
/** How a pool runs its models, beyond what each model's spec says. */
export interface PoolSettings {
  /** Times loads and cost curves. @default systemTime */
  readonly time?: Clock;
  /** Texts one backend call may carry when calls that queued up are merged. @default 64 */
  readonly maxCallTexts?: number;
  /** Measure each model's {@link CostCurve} at load (batch sizes up to `maxCallTexts`). @default not measured */
  readonly costCurve?: CostCurveOptions;
  /** Loads a model's tokenizer for {@link ModelPool.tokenize}. @default loadTextTokenizer */
  readonly loadTokenizer?: TokenizerLoader;
}

export interface ModelStatus {
  readonly name: string;
  readonly backend: BackendKind;
  readonly state: ModelState;
  readonly instances: number;
  readonly source: string;
  readonly info?: ModelInfo;
  readonly error?: string;
  readonly loadMs?: number;
  /** Real vs padded tokens over every instance, for backends that pad (onnx, transformers). */
  readonly padding?: PaddingStats;
  /** Backend calls and the mean texts per call, over every instance (after merging queued calls). */
  readonly calls?: { readonly total: number; readonly meanTexts: number };
}

type Instance = InstanceRunner;

interface Entry {
  readonly spec: ModelSpec;
  readonly source: string;
  state: ModelState;
  instances: Instance[];
  /** The spec the loader got: a repository model as its verified local folder. */
  resolved?: ModelSpec;
  error?: string;
  loadMs?: number;
  costCurve?: CostCurve;
}

/** What to do when a model fails to load: stop start-up, or serve without its capabilities. */
export type LoadFailurePolicy = 'fail' | 'degrade';

/**
 * The processor pool: every model is loaded once, before the server is ready, and stays
 * resident. Each model has N instances; a call goes to the instance with the fewest queued calls.
 */
export class ModelPool {
  readonly #entries = new Map<string, Entry>();
  readonly #options: LoadOptions;
  readonly #loaders: Readonly<Record<BackendKind, BackendLoader>>;
  readonly #time: Clock;
  readonly #maxCallTexts: number;
  readonly #recovering = new Set<Instance>();
  readonly #costCurve: CostCurveOptions | undefined;
  /** Padding of the cost-curve calls, per backend, which `/stats` leaves out. */
  readonly #measuredPadding = new WeakMap<ModelBackend, PaddingStats>();
  readonly #loadTokenizer: TokenizerLoader;
  /** Each model's main-thread tokenizer, loaded on its first {@link tokenize} call. */
  readonly #tokenizers = new Map<string, Promise<TextTokenizer>>();
  readonly #observers: PoolObserver[] = [];
  #closed = false;

  constructor(
    specs: readonly ModelSpec[],
    options: LoadOptions,
    loaders: Readonly<Record<BackendKind, BackendLoader>>,
    settings: PoolSettings = {},
  ) {
    this.#maxCallTexts = settings.maxCallTexts ?? 64;
    this.#costCurve = settings.costCurve;
    this.#options = options;
    this.#loaders = loaders;
    this.#time = settings.time ?? systemTime;
    this.#loadTokenizer = settings.loadTokenizer ?? loadTextTokenizer;
    for (const spec of specs) {
      if (this.#entries.has(spec.name)) {
        throw new CapserveError('CONFIG_INVALID', `model "${spec.name}" is declared twice`);
      }
      const source =
        spec.hubId !== undefined ? `hub:${spec.hubId}` : spec.repository !== undefined ? `repository:${spec.repository}@${spec.version}` : safeDescribe(spec, options);
      this.#entries.set(spec.name, { spec, source, state: 'pending', instances: [] });
    }
  }

  /**
   * Loads every model, one at a time (loading in parallel only competes for the same cores).
   * Under 'fail' the first failure closes what was loaded and throws MODEL_LOAD_FAILED (or
   * DEVICE_UNAVAILABLE when its device cannot start) naming the model and its path; under 'degrade' the model is marked failed and loading goes on.
   */
  async load(policy: LoadFailurePolicy): Promise<void> {
    for (const entry of this.#entries.values()) {
      entry.state = 'loading';
      const began = this.#time.now();
      try {
        const spec = await this.#fromRepository(entry.spec);
        entry.resolved = spec;
        for (let i = 0; i < spec.instances; i += 1) {
          const backend = await this.#loaders[spec.backend](spec, threadsFor(spec, this.#options));
          entry.instances.push(new InstanceRunner(backend, this.#maxCallTexts, { time: this.#time, onCall: (call) => this.#called(entry.spec.name, call) }));
        }
        entry.loadMs = this.#time.now() - began;
        await this.#measure(entry);
        entry.state = 'ready';
      } catch (error) {
        await closeAll(entry.instances);
        entry.instances = [];
        entry.state = 'failed';
        entry.error = messageOf(error);
        if (policy === 'fail') {
          await this.close();
          // A device that cannot start keeps its own code: the operator's fix is the device, not the model.
          throw new CapserveError(
            isCapserveError(error) && error.code === 'DEVICE_UNAVAILABLE' ? 'DEVICE_UNAVAILABLE' : 'MODEL_LOAD_FAILED',
            `model "${entry.spec.name}" (${entry.spec.backend}) failed to load from ${entry.source}: ${entry.error}`,
            { cause: error, details: { model: entry.spec.name, source: entry.source } },
          );
        }
      }
    }
  }

  /**
   * A repository model becomes a plain local one: the version's folder, after every file has
   * been checked against its manifest (a mismatch refuses the version: MODEL_CHECKSUM_MISMATCH).
   */
  async #fromRepository(spec: ModelSpec): Promise<ModelSpec> {
    if (spec.repository === undefined) return spec;
    const root = this.#options.modelRepository;
    if (root === undefined) throw new CapserveError('CONFIG_INVALID', `model "${spec.name}" names repository model "${spec.repository}" but no MODEL_REPOSITORY is set`);
    const { dir, manifest } = await new ModelRepository(root).resolve(spec.repository, spec.version);
    if (manifest.backend !== spec.backend || manifest.task !== spec.task) {
      throw new CapserveError('CONFIG_INVALID', `model "${spec.name}": repository ${spec.repository} v${manifest.version} is ${manifest.backend}/${manifest.task}, the config says ${spec.backend}/${spec.task}`);
    }
    const { repository: _repository, ...rest } = spec;
    return { ...rest, path: dir };
  }

  /**
   * The cost curve of a loaded model, on its first instance before any request can reach it. A
   * model whose measurement fails still serves; it just has no curve (the batcher then keeps
   * its fixed limits for it).
   */
  async #measure(entry: Entry): Promise<void> {
    const backend = entry.instances[0]?.backend;
    if (this.#costCurve === undefined || backend === undefined) return;
    try {
      const points = await measureCostCurve((texts) => backend.run(texts), this.#maxCallTexts, { time: this.#time, ...this.#costCurve });
      entry.costCurve = { model: entry.spec.name, points };
    } catch {
      delete entry.costCurve;
    }
    const padding = backend.padding?.();
    if (padding !== undefined) this.#measuredPadding.set(backend, padding);
  }

  /** Adds an observer of model calls and instance reloads (see {@link PoolObserver}). */
  observe(observer: PoolObserver): void {
    this.#observers.push(observer);
  }

  #called(model: string, call: BackendCall): void {
    const event: ModelCallEvent = { model, device: call.backend.info.device, texts: call.texts, durationMs: call.durationMs, ok: call.ok };
    this.#tell((observer) => observer.modelCalled?.(event));
  }

  /** An observer that throws must not fail the call or the reload it watches. */
  #tell(notify: (observer: PoolObserver) => void): void {
    for (const observer of this.#observers) {
      try {
        notify(observer);
      } catch {
        // Observers report; a broken one loses its report, nothing else.
      }
    }
  }

  /** The cost curve measured when `name` loaded; undefined when not measured. */
  costCurve(name: string): CostCurve | undefined {
    return this.#entries.get(name)?.costCurve;
  }

  /** Every measured cost curve, in model order. */
  costCurves(): CostCurve[] {
    return [...this.#entries.values()].flatMap((entry) => (entry.costCurve === undefined ? [] : [entry.costCurve]));
  }

  /** True once every model has loaded (or, under 'degrade', been marked failed). */
  get settled(): boolean {
    return [...this.#entries.values()].every((entry) => entry.state === 'ready' || entry.state === 'failed');
  }

  isReady(name: string): boolean {
    return this.#entries.get(name)?.state === 'ready';
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  status(): ModelStatus[] {
    return [...this.#entries.values()].map((entry) => ({
      name: entry.spec.name,
      backend: entry.spec.backend,
      state: entry.state,
      instances: entry.instances.length,
      source: entry.source,
      ...(entry.instances[0] === undefined ? {} : { info: entry.instances[0].backend.info }),
      ...(entry.error === undefined ? {} : { error: entry.error }),
      ...(entry.loadMs === undefined ? {} : { loadMs: Math.round(entry.loadMs) }),
      ...paddingOf(entry.instances, this.#measuredPadding),
      ...callsOf(entry.instances),
    }));
  }

  info(name: string): ModelInfo | undefined {
    return this.#entries.get(name)?.instances[0]?.backend.info;
  }

  /** Calls queued or running on a model, over all its instances. */
  depth(name: string): number {
    return (this.#entries.get(name)?.instances ?? []).reduce((sum, i) => sum + i.depth, 0);
  }

  /**
   * Texts a new call to the model would queue behind: the smallest backlog over its instances
   * (waiting and running texts), 0 for an unknown model.
   */
  backlogTexts(name: string): number {
    const instances = this.#entries.get(name)?.instances ?? [];
    return instances.length === 0 ? 0 : Math.min(...instances.map((instance) => instance.backlogTexts));
  }

  /**
   * Runs texts through the least busy instance of a loaded model. `options.signal` withdraws the
   * call while it is queued behind other calls to that instance (it then rejects with
   * REQUEST_CANCELLED, or the signal's coded reason); a call the model is already computing runs to the end.
   */
  async run(name: string, texts: readonly string[], options: RunOptions = {}): Promise<Float32Array[]> {
    const entry = this.#entries.get(name);
    // A crash shows as a dead instance: reload it, and serve from the live ones meanwhile.
    for (const instance of entry?.instances ?? []) if (!instance.alive && entry !== undefined) this.#recover(entry, instance);
    const alive = entry?.instances.filter((instance) => instance.alive && !this.#recovering.has(instance)) ?? [];
    if (entry === undefined || (entry.state !== 'ready' && entry.state !== 'reloading') || alive.length === 0) {
      const why = entry?.state === 'reloading' ? ' (it is reloading after a crash)' : entry?.error ? `: ${entry.error}` : '';
      throw new CapserveError('CAPABILITY_UNAVAILABLE', `model "${name}" is not loaded${why}`);
    }
    let chosen = alive[0] as Instance;
    for (const instance of alive) {
      if (instance.depth < chosen.depth) chosen = instance;
    }
    const span = startModelSpan(name, chosen.backend.info, texts, chosen.depth);
    try {
      const outputs = await chosen.run(texts, options);
      endSpan(span);
      return outputs;
    } catch (error) {
      endSpan(span, error);
      if (!chosen.alive) this.#recover(entry, chosen);
      throw error;
    }
  }

  /**
   * Each text's tokens as the model sees them, untruncated, special tokens included. The
   * tokenizer runs in this thread (the instances keep theirs in their worker threads): it is
   * loaded from the model's files on the first call, kept, and dropped when an instance reloads
   * or the pool closes. CAPABILITY_UNAVAILABLE when the model is not loaded; MODEL_LOAD_FAILED
   * when its tokenizer cannot be read (the next call tries again).
   */
  async tokenize(name: string, texts: readonly string[]): Promise<TokenizedText[]> {
    return (await this.#tokenizer(name)).tokenize(texts);
  }

  /** How many tokens {@link tokenize} would give each text, without their offsets. */
  async countTokens(name: string, texts: readonly string[]): Promise<number[]> {
    return (await this.#tokenizer(name)).countTokens(texts);
  }

  #tokenizer(name: string): Promise<TextTokenizer> {
    const entry = this.#entries.get(name);
    if (entry === undefined || (entry.state !== 'ready' && entry.state !== 'reloading')) {
      return Promise.reject(new CapserveError('CAPABILITY_UNAVAILABLE', `model "${name}" is not loaded${entry?.error ? `: ${entry.error}` : ''}`));
    }
    const cached = this.#tokenizers.get(name);
    if (cached !== undefined) return cached;
    const spec = entry.resolved ?? entry.spec;
    const loading = this.#loadTokenizer(spec, this.#options).catch((error: unknown) => {
      if (this.#tokenizers.get(name) === loading) this.#tokenizers.delete(name);
      throw new CapserveError('MODEL_LOAD_FAILED', `model "${name}": its tokenizer failed to load from ${entry.source}: ${messageOf(error)}`, {
        cause: error,
        details: { model: name, source: entry.source },
      });
    });
    this.#tokenizers.set(name, loading);
    return loading;
  }

  /** True while any model is reloading a crashed instance (readiness is false meanwhile). */
  get reloading(): boolean {
    return [...this.#entries.values()].some((entry) => entry.state === 'reloading');
  }

  /** Loads a crashed instance again, with exponential backoff (0.5 s doubling to 30 s), until it works or the pool closes. */
  #recover(entry: Entry, instance: Instance): void {
    if (this.#recovering.has(instance) || this.#closed) return;
    this.#recovering.add(instance);
    entry.state = 'reloading';
    // The model's files are read again; so is its tokenizer, on the next tokenize call.
    this.#tokenizers.delete(entry.spec.name);
    void (async () => {
      for (let attempt = 0; !this.#closed; attempt += 1) {
        try {
          const spec = entry.resolved ?? entry.spec;
          const backend = await this.#loaders[spec.backend](spec, threadsFor(spec, this.#options));
          if (this.#closed) {
            await backend.close();
            return;
          }
          instance.replaceBackend(backend);
          this.#tell((observer) => observer.instanceReloaded?.({ model: entry.spec.name, ok: true }));
          this.#recovering.delete(instance);
          if (this.#recovering.size === 0 || ![...this.#recovering].some((i) => entry.instances.includes(i))) entry.state = 'ready';
          delete entry.error;
          return;
        } catch (error) {
          entry.error = `reload failed: ${messageOf(error)}`;
          this.#tell((observer) => observer.instanceReloaded?.({ model: entry.spec.name, ok: false }));
          await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** attempt)));
        }
      }
    })();
  }

  /** Waits for running calls, then releases every session. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#tokenizers.clear();
    for (const entry of this.#entries.values()) {
      await Promise.all(entry.instances.map((instance) => instance.onIdle()));
      await closeAll(entry.instances);
      entry.instances = [];
      if (entry.state === 'ready') entry.state = 'pending';
    }
  }
}

async function closeAll(instances: readonly Instance[]): Promise<void> {
  await Promise.allSettled(instances.map((instance) => instance.backend.close()));
}

function safeDescribe(spec: ModelSpec, options: LoadOptions): string {
  try {
    return describeSource(resolveModelSource(spec, options));
  } catch (error) {
    return `package ${spec.package ?? '?'} (${messageOf(error)})`;
  }
}

/** Padding over real calls: the cost-curve calls (`measured`, per backend) are taken off. */
function paddingOf(instances: readonly Instance[], measured: WeakMap<ModelBackend, PaddingStats>): { padding?: PaddingStats } {
  const stats = instances.flatMap(({ backend }) => {
    if (backend.padding === undefined) return [];
    const total = backend.padding();
    const before = measured.get(backend);
    return [before === undefined ? total : { ...total, realTokens: total.realTokens - before.realTokens, paddedTokens: total.paddedTokens - before.paddedTokens }];
  });
  return stats.length === 0 ? {} : { padding: sumPadding(stats) };
}

function callsOf(instances: readonly Instance[]): { calls?: { total: number; meanTexts: number } } {
  if (instances.length === 0) return {};
  const total = instances.reduce((sum, i) => sum + i.stats().calls, 0);
  const texts = instances.reduce((sum, i) => sum + i.stats().texts, 0);
  return { calls: { total, meanTexts: total === 0 ? 0 : Math.round((texts / total) * 100) / 100 } };
}

/**
 * Intra-op threads 0 means automatic: the logical CPUs shared among the model's instances.
 * (onnxruntime's own default counts physical cores only: one thread on a 2-vCPU SMT machine.)
 */
function threadsFor(spec: ModelSpec, options: LoadOptions): LoadOptions {
  if (options.intraOpThreads > 0) return options;
  return { ...options, intraOpThreads: Math.max(1, Math.floor(availableParallelism() / spec.instances)) };
}
