import rateLimit from '@fastify/rate-limit';
import { type FastifyInstance } from 'fastify';
import { CapserveError } from '../core/errors.js';
import { identityOf } from './authenticate.js';

export interface RateLimitOptions {
  /** Requests per window per client; 0 turns the limit off. */
  readonly max: number;
  readonly windowMs: number;
  /** Paths never limited (health checks, metrics scrapes). */
  readonly exemptPaths: readonly string[];
}

/**
 * Per-client request limits (@fastify/rate-limit, in memory): a client is the label of its
 * verified API key, and its address otherwise. A bearer token the server has not verified (any
 * token when there are no keys) is never an identity: a client could send a new one with each
 * request and never reach the limit. Past the limit: 429 RATE_LIMITED with Retry-After.
 * Registered after the authentication hook, which has verified the key by then.
 */
export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  if (options.max === 0) return;
  const exempt = new Set(options.exemptPaths);
  await app.register(rateLimit, {
    global: true,
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
