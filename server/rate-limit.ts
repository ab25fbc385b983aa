import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { type FastifyInstance } from 'fastify';
import { CapserveError } from '../core/errors.js';

export interface RateLimitOptions {
  /** Requests per window per client; 0 turns the limit off. */
  readonly max: number;
  readonly windowMs: number;
  /** Paths never limited (health checks, metrics scrapes). */
  readonly exemptPaths: readonly string[];
}

/**
 * Per-client request limits (@fastify/rate-limit, in memory): a client is its API key when it
 * sends one (as a digest, never the key) and its IP address otherwise. Past the limit: 429
 * RATE_LIMITED with Retry-After.
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
      const key = /^Bearer\s+(\S+)/i.exec(request.headers.authorization ?? '')?.[1];
      return key === undefined ? `ip:${request.ip}` : `key:${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
    },
    errorResponseBuilder: (_request, context) =>
      new CapserveError('RATE_LIMITED', `more than ${context.max} requests in ${Math.round(options.windowMs / 1000)} s; retry in ${Math.ceil(context.ttl / 1000)} s`, {
        details: { retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)), limit: context.max },
      }),
  });
}
