import { type Clock } from '../core/time.js';

export interface ResultStoreOptions {
  /** Finished results kept (least recently used dropped first); 0 keeps none, so only in-flight sharing. */
  readonly maxEntries: number;
  /** How long a finished result may be served. */
  readonly ttlMs: number;
  readonly time: Clock;
}

/** What the store has for one capability and text. */
export type Lookup =
  | { readonly kind: 'cached'; readonly value: unknown }
  | { readonly kind: 'in-flight'; readonly promise: Promise<unknown> }
  | { readonly kind: 'miss' };

/** A computation this batch has claimed: settle it exactly once. */
export interface Claim {
  resolve(value: unknown): void;
  fail(): void;
}

export interface ResultStoreStats {
  readonly size: number;
  readonly maxEntries: number;
  /** Lookups answered from a finished result. */
  readonly hits: number;
  /** Lookups answered by another batch's computation still under way. */
  readonly inFlightHits: number;
  readonly misses: number;
  /** (hits + inFlightHits) / lookups, 0 before any lookup. */
  readonly hitRate: number;
}

interface Cached {
  readonly value: unknown;
  readonly expiresAt: number;
}

/**
 * Results keyed by capability and text, shared across batches: a text that a running batch is
 * already computing for a capability is not computed again by the next batch (in-flight
 * deduplication), and with `maxEntries > 0` finished results are served for `ttlMs` from an LRU.
 *
 * Sharing only ever waits on a batch that claimed the key earlier, so two batches never wait on
 * each other. A claim that fails is dropped, and whoever borrowed it computes it again.
 */
export class ResultStore {
  readonly #options: ResultStoreOptions;
  readonly #inFlight = new Map<string, Promise<unknown>>();
  /** Map order is recency order: a hit moves its key to the end. */
  readonly #cache = new Map<string, Cached>();
  #hits = 0;
  #inFlightHits = 0;
  #misses = 0;

  constructor(options: ResultStoreOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 0) throw new RangeError('maxEntries must be an integer ≥ 0');
    this.#options = options;
  }

  lookup(capability: string, text: string): Lookup {
    const key = keyOf(capability, text);
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#cache.delete(key);
      if (cached.expiresAt > this.#options.time.now()) {
        this.#cache.set(key, cached);
        this.#hits += 1;
        return { kind: 'cached', value: cached.value };
      }
    }
    const promise = this.#inFlight.get(key);
    if (promise !== undefined) {
      this.#inFlightHits += 1;
      return { kind: 'in-flight', promise };
    }
    this.#misses += 1;
    return { kind: 'miss' };
  }

  /** Announces that this caller computes `capability` for `text`; later lookups wait for it. */
  claim(capability: string, text: string): Claim {
    const key = keyOf(capability, text);
    let settle!: { resolve: (value: unknown) => void; reject: (error: unknown) => void };
    const promise = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
    // Borrowers handle rejection; this keeps an unborrowed failure from being "unhandled".
    promise.catch(() => {});
    this.#inFlight.set(key, promise);
    let done = false;
    const release = (): void => {
      done = true;
      if (this.#inFlight.get(key) === promise) this.#inFlight.delete(key);
    };
    return {
      resolve: (value) => {
        if (done) return;
        release();
        this.#remember(key, value);
        settle.resolve(value);
      },
      fail: () => {
        if (done) return;
        release();
        settle.reject(new Error(`computing ${capability} failed`));
      },
    };
  }

  stats(): ResultStoreStats {
    const lookups = this.#hits + this.#inFlightHits + this.#misses;
    return {
      size: this.#cache.size,
      maxEntries: this.#options.maxEntries,
      hits: this.#hits,
      inFlightHits: this.#inFlightHits,
      misses: this.#misses,
      hitRate: lookups === 0 ? 0 : Math.round(((this.#hits + this.#inFlightHits) / lookups) * 1e4) / 1e4,
    };
  }

  /** Drops every finished result (e.g. when the capabilities change). */
  clear(): void {
    this.#cache.clear();
  }

  #remember(key: string, value: unknown): void {
    if (this.#options.maxEntries === 0) return;
    this.#cache.delete(key);
    this.#cache.set(key, { value, expiresAt: this.#options.time.now() + this.#options.ttlMs });
    while (this.#cache.size > this.#options.maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}

/** NUL cannot occur in a capability name, so the key is unambiguous. */
const keyOf = (capability: string, text: string): string => `${capability}\u0000${text}`;
