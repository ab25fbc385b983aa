import { type FastifyRateLimitOptions, type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { type Redis } from 'ioredis';
import { CapserveError } from '../core/errors.js';

/**
 * What the shared rate limit does while Redis does not answer:
 * - `local`: each process counts in its own memory, so a client gets at most the limit per
 *   replica (N replicas: N times the limit) until Redis answers again;
 * - `open`: no limit at all;
 * - `closed`: every limited request gets 503 RATE_LIMIT_UNAVAILABLE.
 */
export const redisFailureModes = ['local', 'open', 'closed'] as const;
export type RedisFailureMode = (typeof redisFailureModes)[number];

export interface SharedStoreOptions {
  readonly redis: Redis;
  /** Prefix of every counter's key, so several deployments can share one Redis. */
  readonly prefix: string;
  readonly onFailure: RedisFailureMode;
  /** Told once each time Redis stops answering (with the error) and once when it answers again. */
  readonly onStateChange?: (state: 'unreachable' | 'reachable', error?: Error) => void;
}

interface Count {
  readonly current: number;
  readonly ttl: number;
}

type Callback = (error: Error | null, result?: Count) => void;

/*
 * One round trip per request: the counter and its expiry are set together, so a key can never be
 * left without a TTL (which would limit a client forever) when a connection drops between two
 * commands. Fixed windows, as the plugin's own stores count.
 */
const incrementScript = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}`;

/** Fixed-window counters in this process's memory: the `local` fallback. */
class LocalCounts {
  readonly #windows = new Map<string, { count: number; endsAt: number }>();
  readonly #maxKeys: number;

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys;
  }

  increment(key: string, windowMs: number, now = Date.now()): Count {
    let window = this.#windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      this.#bound(now);
      window = { count: 0, endsAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return { current: window.count, ttl: window.endsAt - now };
  }

  /** Drops ended windows, then the oldest, so a flood of distinct addresses cannot grow the map without bound. */
  #bound(now: number): void {
    if (this.#windows.size < this.#maxKeys) return;
    for (const [key, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(key);
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.#maxKeys) break;
      this.#windows.delete(key);
    }
  }
}

/** The counters of every store of one plugin registration (the root's and its routes'), with Redis's state. */
class SharedCounts {
  readonly #options: SharedStoreOptions;
  readonly #local = new LocalCounts(10_000);
  #reachable = true;

  constructor(options: SharedStoreOptions) {
    this.#options = options;
  }

  increment(key: string, windowMs: number, callback: Callback): void {
    this.#options.redis.eval(incrementScript, 1, key, String(windowMs)).then(
      (result) => {
        const [current, ttl] = result as [number, number];
        this.#setReachable(true);
        callback(null, { current, ttl });
      },
      (error: unknown) => {
        const cause = error instanceof Error ? error : new Error(String(error));
        this.#setReachable(false, cause);
        if (this.#options.onFailure === 'local') callback(null, this.#local.increment(key, windowMs));
        else if (this.#options.onFailure === 'open') callback(null, { current: 0, ttl: windowMs });
        else callback(new CapserveError('RATE_LIMIT_UNAVAILABLE', undefined, { cause, details: { retryAfterSeconds: 1 } }));
      },
    );
  }

  #setReachable(reachable: boolean, error?: Error): void {
    if (this.#reachable === reachable) return;
    this.#reachable = reachable;
    this.#options.onStateChange?.(reachable ? 'reachable' : 'unreachable', error);
  }
}

/**
 * A @fastify/rate-limit store whose counters live in Redis, so every process pointed at the same
 * Redis enforces one limit; while Redis does not answer, `onFailure` decides (see
 * {@link RedisFailureMode}). The ioredis connection should fail commands at once when it is down
 * (no offline queue) so that a request never waits on a Redis that is gone.
 */
export function sharedRateLimitStore(options: SharedStoreOptions): FastifyRateLimitStoreCtor {
  const counts = new SharedCounts(options);
  return class SharedRateLimitStore implements FastifyRateLimitStore {
    readonly #prefix: string;

    constructor(_plugin: FastifyRateLimitOptions, prefix = options.prefix) {
      this.#prefix = prefix;
    }

    incr(key: string, callback: Callback, timeWindow: number): void {
      counts.increment(this.#prefix + key, timeWindow, callback);
    }

    /** A route with its own limit counts apart from the global one. */
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      return new SharedRateLimitStore({}, `${this.#prefix}${String(routeOptions.method)}${routeOptions.url}:`);
    }
  };
}
