import { checkKnown } from '../capabilities/check-requested.js';
import { type CapabilityRegistry } from '../capabilities/registry.js';
import { estimateTokens } from '../core/estimate-tokens.js';
import { asCapserveError, CapserveError } from '../core/errors.js';
import { type BatchLimits, type BatchPolicy } from './batch-policy.js';
import { executeBatch } from './execute-batch.js';
import { QueuedRequest } from './queued-request.js';
import { type ResultStore } from './result-store.js';
import { ThroughputMeter } from './throughput-meter.js';
import { systemTime, type Time } from '../core/time.js';
import {
  type BatchMode,
  type BatchObserver,
  type BatchReply,
  type BatchRequest,
  type BatcherOptions,
  type RequestPriority,
} from './types.js';

export interface BatcherDeps {
  /** @default systemTime */
  readonly time?: Time;
  readonly observer?: BatchObserver;
  /** Shares results across batches; see {@link ResultStore}. */
  readonly store?: ResultStore;
  /** Chooses each batch's limits; see {@link BatchPolicy}. @default the fixed `maxBatchTexts` / `maxBatchTokens` */
  readonly policy?: BatchPolicy;
}

export const batcherDefaults = Object.freeze({
  maxBatchTokens: 16_384,
  mode: 'adaptive' as BatchMode,
  maxConcurrentBatches: 2,
  capabilityTimeoutMs: 60_000,
  priorityAgeMs: 1000,
});

/** Lower goes first. */
const priorityRank: Readonly<Record<RequestPriority, number>> = { high: 0, normal: 1, low: 2 };

/**
 * Collects concurrent requests into windows and runs each closed window as one batch.
 *
 * A window closes when it holds `maxBatchTexts` texts or `maxBatchTokens` tokens, or when its
 * first request has waited `windowMs`; in adaptive mode also as soon as a batch slot is free
 * (see {@link BatcherOptions.mode}), so a lone request never waits for a timer. A request is
 * never split: one that would overflow the open window closes it and opens the next, and a
 * request larger than the limits runs as a batch of its own. With a {@link BatchPolicy} the
 * limits are the policy's, asked afresh for each decision.
 */
export class Batcher {
  readonly #registry: CapabilityRegistry;
  readonly #options: Required<BatcherOptions>;
  readonly #time: Time;
  readonly #observer: BatchObserver;
  readonly #store: ResultStore | undefined;
  readonly #policy: BatchPolicy | undefined;
  /** Each capability's model (undefined: model-free), for the policy. */
  readonly #modelOf = new Map<string, string | undefined>();
  #window: QueuedRequest[] = [];
  #windowTexts = 0;
  #windowTokens = 0;
  #cancelTimer: (() => void) | undefined;
  #dispatchQueued = false;
  #nextBatchId = 1;
  readonly #running = new Set<Promise<void>>();
  #runningTexts = 0;
  readonly #throughput: ThroughputMeter;
  #closed = false;

  constructor(registry: CapabilityRegistry, options: BatcherOptions, deps: BatcherDeps = {}) {
    this.#registry = registry;
    this.#options = { ...batcherDefaults, ...options };
    this.#time = deps.time ?? systemTime;
    this.#observer = deps.observer ?? {};
    this.#store = deps.store;
    this.#policy = deps.policy;
    this.#throughput = new ThroughputMeter({ time: this.#time });
  }

  /** Texts finished per second over the last 10 s. */
  textsPerSecond(): number {
    return this.#throughput.textsPerSecond();
  }

  /** Texts waiting in the open window. */
  get queuedTexts(): number {
    return this.#windowTexts;
  }

  /** Texts in batches that are running. */
  get runningTexts(): number {
    return this.#runningTexts;
  }

  get runningBatches(): number {
    return this.#running.size;
  }

  /**
   * Every batch slot is taken, so a new request waits for one: the state in which the measured
   * throughput is the machine's capacity rather than the arrival rate of a lightly loaded server.
   */
  get saturated(): boolean {
    return this.#running.size >= this.#options.maxConcurrentBatches;
  }

  /** Adds a request to the open window; resolves when all its capabilities are computed. */
  submit(request: BatchRequest): Promise<BatchReply> {
    if (this.#closed) return Promise.reject(new CapserveError('SHUTTING_DOWN'));
    try {
      checkKnown(request.capabilities, this.#registry.names());
    } catch (error) {
      return Promise.reject(error);
    }
    if (request.signal?.aborted === true) {
      const reason: unknown = request.signal.reason;
      return Promise.reject(asCapserveError(reason, 'REQUEST_CANCELLED'));
    }

    const tokens = request.texts.reduce((sum, text) => sum + estimateTokens(text), 0);
    const entry = new QueuedRequest(request, this.#registry.resolve(request.capabilities), this.#time.now(), tokens);
    if (this.#options.mode === 'fixed' && this.#wouldOverflow(entry)) this.flush();
    this.#window.push(entry);
    this.#windowTexts += entry.request.texts.length;
    this.#windowTokens += tokens;
    entry.watchAbort(() => this.#leaveWindow(entry));
    if (this.#options.mode === 'fixed') {
      if (this.#full()) this.flush();
      else this.#cancelTimer ??= this.#time.schedule(() => this.flush(), this.#options.windowMs);
    } else if (this.#slotFree()) {
      this.#dispatchSoon();
    } else {
      this.#armBound();
    }
    return entry.promise;
  }

  /**
   * Starts the next batch now: in fixed mode the whole open window; in adaptive mode the waiting
   * requests in priority order (high, normal, low, each promoted one level per
   * `priorityAgeMs` waited, then oldest first) up to the batch limits.
   */
  flush(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const live = this.#window.filter((entry) => !entry.settled);
    const entries = this.#options.mode === 'fixed' ? live : this.#takeByPriority(live);
    const taken = new Set(entries);
    this.#window = live.filter((entry) => !taken.has(entry));
    this.#windowTexts = this.#window.reduce((sum, entry) => sum + entry.request.texts.length, 0);
    this.#windowTokens = this.#window.reduce((sum, entry) => sum + entry.tokens, 0);
    if (this.#window.length > 0) this.#armBound();
    if (entries.length === 0) return;
    const texts = entries.reduce((sum, entry) => sum + entry.request.texts.length, 0);
    const id = this.#nextBatchId++;
    this.#runningTexts += texts;
    const running = executeBatch(id, entries, {
      registry: this.#registry,
      time: this.#time,
      capabilityTimeoutMs: this.#options.capabilityTimeoutMs,
      observer: this.#observer,
      ...(this.#store === undefined ? {} : { store: this.#store }),
    })
      .catch((error: unknown) => {
        // The engine answers requests itself; anything escaping it must still answer everyone.
        const failure = new CapserveError('INTERNAL_ERROR', undefined, { cause: error });
        for (const entry of entries) entry.reject(failure);
      })
      .finally(() => {
        this.#throughput.record(texts);
        this.#runningTexts -= texts;
        this.#running.delete(running);
        // A slot is free: what gathered while every slot was busy goes now.
        while (this.#window.length > 0 && this.#slotFree()) this.flush();
      });
    this.#running.add(running);
  }

  /** Resolves when no window is open and no batch runs. */
  async onIdle(): Promise<void> {
    while (this.#window.length > 0 || this.#running.size > 0) {
      if (this.#window.length > 0) this.flush();
      await Promise.all([...this.#running]);
    }
  }

  /** Stops accepting requests, runs what was accepted, and waits for it. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.onIdle();
  }

  #full(): boolean {
    const limits = this.#limits(this.#window);
    return this.#windowTexts >= limits.maxBatchTexts || this.#windowTokens >= limits.maxBatchTokens;
  }

  #wouldOverflow(entry: QueuedRequest): boolean {
    if (this.#window.length === 0) return false;
    const limits = this.#limits(this.#window, entry);
    return this.#windowTexts + entry.request.texts.length > limits.maxBatchTexts || this.#windowTokens + entry.tokens > limits.maxBatchTokens;
  }

  /** The policy's limits for a batch taken from `entries` (and `joining`, a request that would join them): the models they need, the oldest one's wait. */
  #limits(entries: readonly QueuedRequest[], joining?: QueuedRequest): BatchLimits {
    if (this.#policy === undefined) return this.#options;
    const models = new Set<string>();
    let oldest = Number.POSITIVE_INFINITY;
    for (const entry of joining === undefined ? entries : [...entries, joining]) {
      oldest = Math.min(oldest, entry.enqueuedAt);
      for (const capability of entry.closure) {
        if (!this.#modelOf.has(capability)) this.#modelOf.set(capability, this.#registry.get(capability).model);
        const model = this.#modelOf.get(capability);
        if (model !== undefined) models.add(model);
      }
    }
    return this.#policy.limits({ models, waitedMs: oldest === Number.POSITIVE_INFINITY ? 0 : this.#time.now() - oldest });
  }

  /** Adaptive mode: the oldest waiting request goes no later than `windowMs` after it arrived, slot or not. */
  #armBound(): void {
    if (this.#cancelTimer !== undefined) return;
    const oldest = Math.min(...this.#window.map((entry) => entry.enqueuedAt));
    const delay = Math.max(0, oldest + this.#options.windowMs - this.#time.now());
    this.#cancelTimer = this.#time.schedule(() => {
      this.#cancelTimer = undefined;
      if (this.#window.length > 0) this.flush();
    }, delay);
  }

  /** The next batch's requests: by effective priority, then age, while they fit the limits (at least one). */
  #takeByPriority(live: readonly QueuedRequest[]): QueuedRequest[] {
    const now = this.#time.now();
    const rank = (entry: QueuedRequest): number => priorityRank[entry.priority] - Math.floor((now - entry.enqueuedAt) / this.#options.priorityAgeMs);
    const ordered = [...live].sort((a, b) => rank(a) - rank(b) || a.enqueuedAt - b.enqueuedAt);
    const limits = this.#limits(live);
    const taken: QueuedRequest[] = [];
    let texts = 0;
    let tokens = 0;
    for (const entry of ordered) {
      const size = entry.request.texts.length;
      if (taken.length > 0 && (texts + size > limits.maxBatchTexts || tokens + entry.tokens > limits.maxBatchTokens)) break;
      taken.push(entry);
      texts += size;
      tokens += entry.tokens;
    }
    return taken;
  }

  #slotFree(): boolean {
    return this.#options.mode === 'adaptive' && this.#running.size < this.#options.maxConcurrentBatches;
  }

  /**
   * Dispatches after the current tick rather than at once, so requests that arrive together
   * (one WebSocket frame's worth, one event-loop turn of HTTP bodies) share the batch.
   */
  #dispatchSoon(): void {
    if (this.#dispatchQueued) return;
    this.#dispatchQueued = true;
    this.#time.schedule(() => {
      this.#dispatchQueued = false;
      while (this.#window.length > 0 && this.#slotFree()) this.flush();
    }, 0);
  }

  #leaveWindow(entry: QueuedRequest): void {
    const at = this.#window.indexOf(entry);
    if (at === -1) return;
    this.#window.splice(at, 1);
    this.#windowTexts -= entry.request.texts.length;
    this.#windowTokens -= entry.tokens;
    if (this.#window.length === 0) {
      this.#cancelTimer?.();
      this.#cancelTimer = undefined;
    }
  }
}
