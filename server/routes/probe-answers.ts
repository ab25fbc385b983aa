import { type FastifyReply } from 'fastify';
import { type Registry } from 'prom-client';
import { redactPaths } from '../../core/redact-paths.js';
import { type CapserveService } from '../../engine/service.js';

/*
 * What the probe and scrape routes answer, shared by the server's info routes and the queue
 * worker's own listener (server/worker-http.ts), so both processes report the same way.
 */

/** One model in a readiness answer. */
export interface ModelReadiness {
  readonly name: string;
  readonly state: string;
  readonly device?: string;
  readonly adapter?: string;
  readonly error?: string;
}

/** `/health/ready` of a service: ready while started, not draining and no model reloading. */
export interface ServiceReadiness {
  readonly ready: boolean;
  /** The service's phase, or `draining` once a drain before a stop has begun. */
  readonly phase: string;
  readonly models: readonly ModelReadiness[];
}

/** `GET /health`: the process answers (liveness), with the service's phase. */
export function liveness(service: CapserveService): { readonly status: 'ok'; readonly phase: string } {
  return { status: 'ok', phase: service.phase };
}

/** Whether `service` is ready, its phase, and each model's state, device and load error. */
export function serviceReadiness(service: CapserveService): ServiceReadiness {
  const models = service.pool.status().map(({ name, state, error, info }) => ({
    name,
    state,
    ...(info === undefined ? {} : { device: info.device, ...(info.adapter === undefined ? {} : { adapter: info.adapter }) }),
    // Served without a key: a load error names model files relative to the project, never absolute paths.
    ...(error ? { error: redactPaths(error) } : {}),
  }));
  // Draining: still serving, but asking the load balancer to stop sending (SHUTDOWN_DELAY_MS).
  return { ready: service.ready && !service.draining, phase: service.draining ? 'draining' : service.phase, models };
}

/** `GET /metrics`: the registry's Prometheus text exposition, under its content type. */
export async function metricsText(registry: Registry, reply: FastifyReply): Promise<string> {
  reply.type(registry.contentType);
  return registry.metrics();
}
