import { round } from '../capabilities/math/vectors.js';
import { SampleWindow } from './sample-window.js';
import { type BatchObserver } from './types.js';

interface CapabilityCounters {
  executions: number;
  failures: number;
  texts: number;
  latency: SampleWindow;
}

/** The JSON body of `GET /stats`. */
export interface StatsSnapshot {
  readonly requests: { readonly total: number; readonly failed: number; readonly meanWaitMs: number };
  readonly texts: { readonly submitted: number; readonly computed: number; readonly duplicatesSaved: number };
  readonly batches: {
    readonly total: number;
    /** Texts per batch over the recent window of batches. */
    readonly size: { readonly mean: number; readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
    readonly requestsPerBatch: number;
  };
  readonly capabilities: Record<
    string,
    { executions: number; failures: number; texts: number; latencyMs: { mean: number; p50: number; p95: number } }
  >;
  /**
   * Capability executions run; `optimal` is the sum over batches of the distinct capabilities
   * each needed (one execution each; fewer when results came from other batches or the cache);
   * `naive` is what running each request on its own would have taken.
   */
  readonly executions: {
    readonly actual: number;
    readonly optimal: number;
    readonly naive: number;
    readonly saved: number;
    readonly savedRatio: number;
    readonly perBatch: number;
    readonly per100Requests: number;
  };
}

/** Counts what the batcher does, for `GET /stats`. */
export class BatchStats implements BatchObserver {
  #requests = 0;
  #failedRequests = 0;
  readonly #wait = new SampleWindow();
  #textsSubmitted = 0;
  #textsComputed = 0;
  #batches = 0;
  #batchRequests = 0;
  readonly #batchSizes = new SampleWindow();
  #executions = 0;
  #naiveExecutions = 0;
  #optimalExecutions = 0;
  #finishedBatches = 0;
  readonly #capabilities = new Map<string, CapabilityCounters>();

  batchStarted(event: { requests: number; texts: number; uniqueTexts: number }): void {
    this.#batches += 1;
    this.#batchRequests += event.requests;
    this.#textsSubmitted += event.texts;
    this.#textsComputed += event.uniqueTexts;
    this.#batchSizes.add(event.uniqueTexts);
  }

  capabilityFinished(event: { capability: string; texts: number; durationMs: number; ok: boolean }): void {
    let counters = this.#capabilities.get(event.capability);
    if (counters === undefined) {
      counters = { executions: 0, failures: 0, texts: 0, latency: new SampleWindow() };
      this.#capabilities.set(event.capability, counters);
    }
    counters.executions += 1;
    counters.texts += event.texts;
    if (!event.ok) counters.failures += 1;
    counters.latency.add(event.durationMs);
  }

  batchFinished(event: { executions: number; capabilities: number; naiveExecutions: number }): void {
    this.#finishedBatches += 1;
    this.#optimalExecutions += event.capabilities;
    this.#executions += event.executions;
    this.#naiveExecutions += event.naiveExecutions;
  }

  requestFinished(event: { waitedMs: number; ok: boolean }): void {
    this.#requests += 1;
    if (!event.ok) this.#failedRequests += 1;
    this.#wait.add(event.waitedMs);
  }

  snapshot(): StatsSnapshot {
    const saved = this.#naiveExecutions - this.#executions;
    return {
      requests: { total: this.#requests, failed: this.#failedRequests, meanWaitMs: round(this.#wait.mean(), 3) },
      texts: {
        submitted: this.#textsSubmitted,
        computed: this.#textsComputed,
        duplicatesSaved: this.#textsSubmitted - this.#textsComputed,
      },
      batches: {
        total: this.#batches,
        size: {
          mean: round(this.#batchSizes.mean(), 3),
          p50: this.#batchSizes.percentile(50),
          p95: this.#batchSizes.percentile(95),
          p99: this.#batchSizes.percentile(99),
          max: this.#batchSizes.percentile(100),
        },
        requestsPerBatch: this.#batches === 0 ? 0 : round(this.#batchRequests / this.#batches, 3),
      },
      capabilities: Object.fromEntries(
        [...this.#capabilities].map(([name, c]) => [
          name,
          {
            executions: c.executions,
            failures: c.failures,
            texts: c.texts,
            latencyMs: { mean: round(c.latency.mean(), 3), p50: round(c.latency.percentile(50), 3), p95: round(c.latency.percentile(95), 3) },
          },
        ]),
      ),
      executions: {
        actual: this.#executions,
        optimal: this.#optimalExecutions,
        naive: this.#naiveExecutions,
        saved,
        savedRatio: this.#naiveExecutions === 0 ? 0 : round(saved / this.#naiveExecutions, 4),
        perBatch: this.#finishedBatches === 0 ? 0 : round(this.#executions / this.#finishedBatches, 3),
        per100Requests: this.#requests === 0 ? 0 : round((this.#executions / this.#requests) * 100, 2),
      },
    };
  }
}

/** Fans one observer call out to several observers. */
export function combineObservers(...observers: readonly BatchObserver[]): BatchObserver {
  return {
    batchStarted: (e) => observers.forEach((o) => o.batchStarted?.(e)),
    capabilityFinished: (e) => observers.forEach((o) => o.capabilityFinished?.(e)),
    batchFinished: (e) => observers.forEach((o) => o.batchFinished?.(e)),
    requestFinished: (e) => observers.forEach((o) => o.requestFinished?.(e)),
  };
}
