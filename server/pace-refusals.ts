import { type FastifyInstance } from 'fastify';
import { type Scheduler, systemTime } from '../core/time.js';

/*
 * Why refusals are held: a 429 costs the server little, but a client that resends at once,
 * without honouring Retry-After, gets its next 429 a fraction of a millisecond later. At 256
 * such clients that loop answered 5,500 refusals a second and took the CPU the models needed
 * (MiniLM served 74 texts/s instead of 135). Held for a second, each connection costs at most
 * one refusal a second, whatever the client does; a client that honours Retry-After loses
 * nothing, since it would have waited anyway.
 */

/**
 * Holds every 429 answer for `delayMs` (no longer than its own Retry-After) before it is sent,
 * on every route, protocol routes included. 0 turns it off.
 */
export function paceRefusals(app: FastifyInstance, delayMs: number, time: Scheduler = systemTime): void {
  if (delayMs <= 0) return;
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode !== 429) return payload;
    const retryAfter = Number(reply.getHeader('retry-after'));
    const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(delayMs, retryAfter * 1000) : delayMs;
    await new Promise<void>((resolve) => time.schedule(resolve, wait));
    return payload;
  });
}
