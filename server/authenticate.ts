import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { CapserveError } from '../core/errors.js';
import { type ApiKeys, type KeyIdentity } from './api-keys.js';
import { type AuthFailures } from './auth-failures.js';
import { roleFor } from './route-roles.js';

/** The verified key of each request that sent one; a WeakMap, so it goes with the request. */
const identities = new WeakMap<FastifyRequest, KeyIdentity>();

/** The verified key of a request: undefined when no keys are configured or the path is exempt. */
export function identityOf(request: FastifyRequest): KeyIdentity | undefined {
  return identities.get(request);
}

/** Who did it, for the audit log: the key's label, or `api` when the server has no keys. */
export function actorOf(request: FastifyRequest): string {
  return identities.get(request)?.label ?? 'api';
}

export interface AuthOptions {
  readonly keys: ApiKeys;
  readonly exemptPaths: readonly string[];
  /** Failed authentications per address; refused with RATE_LIMITED past the limit. */
  readonly failures: AuthFailures;
}

/**
 * Bearer authentication with roles, on `onRequest`: before the body is read and before a
 * WebSocket upgrade, so no key means no work. Past the failure limit an address is refused
 * before its key is even looked at; a `read` key on an admin route gets FORBIDDEN. Nothing is
 * registered without keys.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const { keys, failures } = options;
  if (!keys.enabled) return;
  const exempt = new Set(options.exemptPaths);
  app.addHook('onRequest', async (request) => {
    if (exempt.has(request.url.split('?')[0] ?? '')) return;
    failures.check(request.ip);
    let identity: KeyIdentity | undefined;
    try {
      identity = keys.check(request.headers.authorization);
    } catch (error) {
      failures.fail(request.ip);
      throw error;
    }
    if (identity === undefined) return;
    identities.set(request, identity);
    const route = request.routeOptions.url;
    if (identity.role === 'read' && roleFor(request.method, route) === 'admin') {
      throw new CapserveError('FORBIDDEN', `the API key "${identity.label}" has the read role; ${request.method} ${route ?? request.url} needs an admin key`, {
        details: { role: identity.role, required: 'admin' },
      });
    }
  });
}
