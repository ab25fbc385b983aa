import { type CapabilityRegistry } from '../capabilities/registry.js';
import { CapserveError } from '../server/errors.js';
import { executeBatch } from './execute-batch.js';
import { QueuedRequest } from './queued-request.js';
import { systemClock, timerScheduler } from './system-time.js';
import {
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
}

/**
 * Collects concurrent requests into time windows and runs each closed window as one batch.
 *
 * A window opens on the first request and closes `windowMs` later, or at once when it holds
 * `maxBatchTexts` texts. A request is never split: one that would overflow the open window
 * closes it and opens the next, and a request larger than the limit runs as a batch of its own.
 */
export class Batcher {
  readonly #registry: CapabilityRegistry;
  readonly #options: BatcherOptions;
  readonly #scheduler: Scheduler;
  readonly #clock: Clock;
  readonly #observer: BatchObserver;
  #window: QueuedRequest[] = [];
  #windowTexts = 0;
  #cancelTimer: (() => void) | undefined;
  #nextBatchId = 1;
  readonly #running = new Set<Promise<void>>();
  #runningTexts = 0;
  #closed = false;

  constructor(registry: CapabilityRegistry, options: BatcherOptions, deps: BatcherDeps = {}) {
    this.#registry = registry;
    this.#options = options;
    this.#scheduler = deps.scheduler ?? timerScheduler;
    this.#clock = deps.clock ?? systemClock;
    this.#observer = deps.observer ?? {};
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
    if (request.signal?.aborted === true) return Promise.reject(new CapserveError('REQUEST_CANCELLED'));

    const entry = new QueuedRequest(request, this.#registry.resolve(request.capabilities), this.#clock.now());
    const size = request.texts.length;
    if (this.#window.length > 0 && this.#windowTexts + size > this.#options.maxBatchTexts) this.flush();
    this.#window.push(entry);
    this.#windowTexts += size;
    entry.watchAbort(() => this.#leaveWindow(entry));
    if (this.#windowTexts >= this.#options.maxBatchTexts) {
      this.flush();
    } else if (this.#cancelTimer === undefined) {
      this.#cancelTimer = this.#scheduler.schedule(() => this.flush(), this.#options.windowMs);
    }
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
    if (entries.length === 0) return;
    const id = this.#nextBatchId++;
    this.#runningTexts += texts;
    const running = executeBatch(id, entries, {
      registry: this.#registry,
      clock: this.#clock,
      observer: this.#observer,
    })
      .catch((error: unknown) => {
        // The engine answers requests itself; anything escaping it must still answer everyone.
        const failure = new CapserveError('INTERNAL_ERROR', undefined, { cause: error });
        for (const entry of entries) entry.reject(failure);
      })
      .finally(() => {
        this.#runningTexts -= texts;
        this.#running.delete(running);
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

  #leaveWindow(entry: QueuedRequest): void {
    const at = this.#window.indexOf(entry);
    if (at === -1) return;
    this.#window.splice(at, 1);
    this.#windowTexts -= entry.request.texts.length;
    if (this.#window.length === 0) {
      this.#cancelTimer?.();
      this.#cancelTimer = undefined;
    }
  }
}
