import rateLimit from '@fastify/rate-limit';
import { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { CapserveError } from '../core/errors.js';
import { identityOf } from './authenticate.js';
import { type RedisFailureMode, sharedRateLimitStore } from './shared-rate-limit-store.js';

export interface RateLimitOptions {
  /** Requests per window per client; 0 turns the limit off. */
  readonly max: number;
  readonly windowMs: number;
  /** Paths never limited (health checks, metrics scrapes). */
  readonly exemptPaths: readonly string[];
  /** Counters in Redis, shared by every process that names it; absent, each process counts its own. */
  readonly redis?: SharedLimitOptions;
}

export interface SharedLimitOptions {
  /** REDIS_URL. */
  readonly url: string;
  /** RATE_LIMIT_REDIS_FAIL. @default 'local' */
  readonly onFailure?: RedisFailureMode;
  /** @default 'capserve:rl:' */
  readonly prefix?: string;
}

/*
 * The connection fails a command at once while Redis is down (no offline queue, no retries) and
 * gives up on a Redis that accepted the connection but does not answer after REDIS_COMMAND_MS:
 * a request waits at most that long on the limit, never on a reconnection. ioredis reconnects by
 * itself (backing off to 2 s), so the shared limit returns with Redis without a restart.
 */
const REDIS_COMMAND_MS = 500;
/** How long start-up waits for the first connection before serving with the failure mode. */
const REDIS_CONNECT_MS = 2000;

/**
 * Per-client request limits (@fastify/rate-limit; in memory, or under `redis` in Redis, shared by
 * every replica, keys `capserve:rl:key:<label>` and `capserve:rl:ip:<address>`): a client is the
 * label of its verified API key, and its address otherwise. A bearer token the server has not verified (any
 * token when there are no keys) is never an identity: a client could send a new one with each
 * request and never reach the limit. Past the limit: 429 RATE_LIMITED with Retry-After.
 * Registered after the authentication hook, which has verified the key by then.
 */
export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  if (options.max === 0) return;
  const exempt = new Set(options.exemptPaths);
  const store = options.redis === undefined ? undefined : await sharedStore(app, options.redis);
  await app.register(rateLimit, {
    global: true,
    ...(store === undefined ? {} : { store }),
    max: options.max,
    timeWindow: options.windowMs,
    allowList: (request) => exempt.has(request.url.split('?')[0] ?? ''),
    keyGenerator: (request) => {
      const identity = identityOf(request);
      return identity === undefined ? `ip:${request.ip}` : `key:${identity.label}`;
    },
    errorResponseBuilder: (_request, context) =>
      new CapserveError('RATE_LIMITED', `more than ${context.max} requests in ${Math.round(options.windowMs / 1000)} s; retry in ${Math.ceil(context.ttl / 1000)} s`, {
        details: { retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)), limit: context.max },
      }),
  });
}

async function sharedStore(app: FastifyInstance, options: SharedLimitOptions): Promise<ReturnType<typeof sharedRateLimitStore>> {
  const redis = new Redis(options.url, {
    connectionName: 'capserve-rate-limit',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_MS,
    connectTimeout: REDIS_CONNECT_MS,
  });
  // Connection errors are reported once per outage through onStateChange; without a listener
  // ioredis would print every reconnection attempt.
  redis.on('error', () => {});
  app.addHook('onClose', async () => redis.disconnect());
  await connected(redis);
  const onFailure = options.onFailure ?? 'local';
  return sharedRateLimitStore({
    redis,
    prefix: options.prefix ?? 'capserve:rl:',
    onFailure,
    onStateChange: (state, error) => {
      if (state === 'unreachable') app.log.warn({ err: error, onFailure }, `rate limits: Redis does not answer; RATE_LIMIT_REDIS_FAIL=${onFailure} until it does`);
      else app.log.info('rate limits: Redis answers again; limits are shared');
    },
  });
}

/** Resolves when the first connection is ready or has failed (or after REDIS_CONNECT_MS): a Redis that is down does not stop start-up. */
function connected(redis: Redis): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, REDIS_CONNECT_MS);
    redis.once('ready', done);
    redis.once('error', done);
  });
}
