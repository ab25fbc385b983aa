import { type CapabilityRegistry } from '../capabilities/registry.js';
import { estimateTokens } from '../jobs/media/estimate-tokens.js';
import { CapserveError, isCapserveError } from '../server/errors.js';
import { executeBatch } from './execute-batch.js';
import { QueuedRequest } from './queued-request.js';
import { type ResultStore } from './result-store.js';
import { ThroughputMeter } from './throughput-meter.js';
import { systemClock, timerScheduler } from './system-time.js';
import {
  type BatchMode,
  type BatchObserver,
  type BatchReply,
  type BatchRequest,
  type BatcherOptions,
  type Clock,
  type Scheduler,
} from './types.js';

export interface BatcherDeps {
  readonly scheduler?: Scheduler;
  readonly clock?: Clock;
  readonly observer?: BatchObserver;
  /** Shares results across batches; see {@link ResultStore}. */
  readonly store?: ResultStore;
}

export const batcherDefaults = Object.freeze({
  maxBatchTokens: 16_384,
  mode: 'adaptive' as BatchMode,
  maxConcurrentBatches: 2,
  capabilityTimeoutMs: 60_000,
});

/**
 * Collects concurrent requests into windows and runs each closed window as one batch.
 *
 * A window closes when it holds `maxBatchTexts` texts or `maxBatchTokens` tokens, or when its
 * first request has waited `windowMs`; in adaptive mode also as soon as a batch slot is free
 * (see {@link BatcherOptions.mode}), so a lone request never waits for a timer. A request is
 * never split: one that would overflow the open window closes it and opens the next, and a
 * request larger than the limits runs as a batch of its own.
 */
export class Batcher {
  readonly #registry: CapabilityRegistry;
  readonly #options: Required<BatcherOptions>;
  readonly #scheduler: Scheduler;
  readonly #clock: Clock;
  readonly #observer: BatchObserver;
  readonly #store: ResultStore | undefined;
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
    this.#scheduler = deps.scheduler ?? timerScheduler;
    this.#clock = deps.clock ?? systemClock;
    this.#observer = deps.observer ?? {};
    this.#store = deps.store;
    this.#throughput = new ThroughputMeter(this.#clock);
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

  /** Adds a request to the open window; resolves when all its capabilities are computed. */
  submit(request: BatchRequest): Promise<BatchReply> {
    if (this.#closed) return Promise.reject(new CapserveError('SHUTTING_DOWN'));
    const unknown = this.#registry.unknown(request.capabilities);
    if (unknown.length > 0) {
      return Promise.reject(
        new CapserveError('UNKNOWN_CAPABILITY', `unknown capabilities: ${unknown.join(', ')}`, {
          details: { unknown, valid: this.#registry.names() },
        }),
      );
    }
    if (request.signal?.aborted === true) {
      const reason: unknown = request.signal.reason;
      return Promise.reject(isCapserveError(reason) ? reason : new CapserveError('REQUEST_CANCELLED'));
    }

    const tokens = request.texts.reduce((sum, text) => sum + estimateTokens(text), 0);
    const entry = new QueuedRequest(request, this.#registry.resolve(request.capabilities), this.#clock.now(), tokens);
    const size = request.texts.length;
    const { maxBatchTexts, maxBatchTokens } = this.#options;
    if (this.#window.length > 0 && (this.#windowTexts + size > maxBatchTexts || this.#windowTokens + tokens > maxBatchTokens)) this.flush();
    this.#window.push(entry);
    this.#windowTexts += size;
    this.#windowTokens += tokens;
    entry.watchAbort(() => this.#leaveWindow(entry));
    if (this.#windowTexts >= maxBatchTexts || this.#windowTokens >= maxBatchTokens) {
      this.flush();
      return entry.promise;
    }
    if (this.#slotFree()) this.#dispatchSoon();
    this.#cancelTimer ??= this.#scheduler.schedule(() => this.flush(), this.#options.windowMs);
    return entry.promise;
  }

  /** Closes the open window now and starts its batch. */
  flush(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const entries = this.#window.filter((entry) => !entry.settled);
    const texts = this.#windowTexts;
    this.#window = [];
    this.#windowTexts = 0;
    this.#windowTokens = 0;
    if (entries.length === 0) return;
    const id = this.#nextBatchId++;
    this.#runningTexts += texts;
    const running = executeBatch(id, entries, {
      registry: this.#registry,
      clock: this.#clock,
      scheduler: this.#scheduler,
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
        if (this.#window.length > 0 && this.#slotFree()) this.flush();
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
    this.#scheduler.schedule(() => {
      this.#dispatchQueued = false;
      if (this.#window.length > 0 && this.#slotFree()) this.flush();
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
