import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { CapserveError } from '../core/errors.js';

const stateChanging = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const allowHeaders = 'authorization, content-type, x-request-id';
const exposeHeaders = 'retry-after, x-request-id, location';

/**
 * Origin checks for browsers. A request with an `Origin` header comes from a web page: when the
 * origin is not in CORS_ORIGINS, a state-changing request (POST, PUT, PATCH, DELETE), a preflight
 * or a WebSocket upgrade is refused with 403 ORIGIN_FORBIDDEN before anything else runs; a GET
 * goes on without CORS headers, so the page cannot read the answer. A listed origin gets CORS
 * headers and its preflights are answered here. Requests without `Origin` (curl, SDKs, servers)
 * are not browsers' and are not affected.
 *
 * Why not only CORS headers: a form post or a `no-cors` fetch reaches the server without a
 * preflight (multipart `/process` is such a "simple" request), and a WebSocket is not covered
 * by CORS at all, so the refusal has to happen on the server.
 */
export function registerOriginCheck(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  const allowed = new Set(allowedOrigins.map(normalise));
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const listed = allowed.has(normalise(origin));
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (!listed) {
      if (preflight || stateChanging.has(request.method) || isUpgrade(request)) {
        throw new CapserveError('ORIGIN_FORBIDDEN', `requests from origin ${JSON.stringify(origin.slice(0, 200))} are not allowed (CORS_ORIGINS)`);
      }
      return;
    }
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'Origin');
    reply.header('access-control-expose-headers', exposeHeaders);
    if (preflight) return answerPreflight(reply);
  });
}

async function answerPreflight(reply: FastifyReply): Promise<FastifyReply> {
  reply.header('access-control-allow-methods', 'GET, HEAD, POST, PUT, PATCH, DELETE');
  reply.header('access-control-allow-headers', allowHeaders);
  reply.header('access-control-max-age', '600');
  return reply.code(204).send();
}

const isUpgrade = (request: FastifyRequest): boolean => request.headers.upgrade?.toLowerCase() === 'websocket';

/** Origins compare without a trailing slash and case-insensitively (scheme and host are). */
const normalise = (origin: string): string => origin.trim().replace(/\/+$/, '').toLowerCase();
