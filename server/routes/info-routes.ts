import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type CapserveService } from '../../engine/service.js';

/** Liveness, readiness, the capability list, statistics and Prometheus metrics. */
export function infoRoutes(service: CapserveService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/health', { schema: { summary: 'Liveness: the process answers.' } }, async () => ({ status: 'ok', phase: service.phase }));

    app.get('/health/ready', { schema: { summary: 'Readiness: every model is loaded and requests are accepted.' } }, async (_request, reply) => {
      const models = service.pool.status().map(({ name, state, error, info }) => ({
        name,
        state,
        ...(info === undefined ? {} : { device: info.device, ...(info.adapter === undefined ? {} : { adapter: info.adapter }) }),
        ...(error ? { error } : {}),
      }));
      reply.code(service.ready ? 200 : 503);
      return { ready: service.ready, phase: service.phase, models };
    });

    app.get('/capabilities', { schema: { summary: 'Each capability with its dependencies, model, backend and device.' } }, async () => ({
      capabilities: service.describeCapabilities(),
    }));

    app.get('/stats', { schema: { summary: 'Batching statistics, including executions saved by batching.' } }, async () => ({
      phase: service.phase,
      ...service.stats.snapshot(),
      resultCache: service.resultCacheStats(),
      models: service.pool.status(),
      costCurves: service.pool.costCurves(),
    }));

    app.get('/metrics', { schema: { summary: 'Prometheus metrics.', hide: true } }, async (_request, reply) => {
      reply.type(service.metrics.registry.contentType);
      return service.metrics.registry.metrics();
    });
  };
}
