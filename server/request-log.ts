import { type FastifyInstance } from 'fastify';
import { type WebSocketServer } from 'ws';
import { answeredErrorCode } from './answered-error.js';
import { requestFacts } from './request-facts.js';
import { requestIdHeader, requestIdOfRaw } from './request-id.js';

/** The route pattern a request matched (`/jobs/:id`, never the raw URL with its ids and query), or `unmatched`. */
export function routeOf(request: { readonly routeOptions: { readonly url?: string | undefined } }): string {
  return request.routeOptions.url ?? 'unmatched';
}

/** Milliseconds to the microsecond: enough for a log line, without float noise. */
export const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * One `info` line per finished HTTP request, `request completed`: the request id (`reqId`,
 * every line of the request carries it), method, route, status, the registry code of an error
 * answer, the capabilities and batches the route noted, the job it queued, and the duration.
 * No texts, no headers, no query. Every response, errors, 404s and 429s included, and the
 * WebSocket upgrade carry the id back in `x-request-id`, so a client can quote it.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header(requestIdHeader, request.id);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const { capabilities, batchIds, jobId } = requestFacts(request);
    const code = answeredErrorCode(reply);
    request.log.info(
      {
        method: request.method,
        route: routeOf(request),
        status: reply.statusCode,
        ...(code === undefined ? {} : { code }),
        ...(capabilities === undefined ? {} : { capabilities }),
        ...(batchIds === undefined ? {} : { batchIds }),
        ...(jobId === undefined ? {} : { jobId }),
        durationMs: roundMs(reply.elapsedTime),
      },
      'request completed',
    );
  });
  // A WebSocket's 101 is written by ws, not by a fastify reply: add the id to its headers there.
  app.addHook('onReady', async () => {
    if (!app.hasDecorator('websocketServer')) return;
    const wss = (app as unknown as { websocketServer: WebSocketServer }).websocketServer;
    wss.on('headers', (headers, raw) => {
      const id = requestIdOfRaw(raw);
      if (id !== undefined) headers.push(`${requestIdHeader}: ${id}`);
    });
  });
}
