import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { redactPaths } from '../../core/redact-paths.js';
import { type CapserveService } from '../../engine/service.js';
import { access, errorResponses, jsonResponse } from '../openapi/error-responses.js';
import { capabilitiesSchema, healthSchema, readinessSchema, statsSchema } from '../openapi/response-schemas.js';

/** Liveness, readiness, the capability list, statistics and Prometheus metrics. */
export function infoRoutes(service: CapserveService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/health',
      { schema: { operationId: 'getHealth', tags: ['health'], summary: 'Liveness: the process answers.', response: { 200: jsonResponse('The process is up.', healthSchema) } } },
      async () => ({ status: 'ok' as const, phase: service.phase }),
    );

    app.get(
      '/health/ready',
      {
        schema: {
          operationId: 'getReadiness',
          tags: ['health'],
          summary: 'Readiness: every model is loaded and requests are accepted.',
          response: { 200: jsonResponse('Ready: every model is loaded.', readinessSchema), 503: jsonResponse('Not ready: starting, reloading a model, draining before a stop, or stopping.', readinessSchema) },
        },
      },
      async (_request, reply) => {
        const models = service.pool.status().map(({ name, state, error, info }) => ({
          name,
          state,
          ...(info === undefined ? {} : { device: info.device, ...(info.adapter === undefined ? {} : { adapter: info.adapter }) }),
          // Served without a key: a load error names model files relative to the project, never absolute paths.
          ...(error ? { error: redactPaths(error) } : {}),
        }));
        // Draining: still serving, but asking the load balancer to stop sending (SHUTDOWN_DELAY_MS).
        const ready = service.ready && !service.draining;
        reply.code(ready ? 200 : 503);
        return { ready, phase: service.draining ? 'draining' : service.phase, models };
      },
    );

    app.get(
      '/capabilities',
      {
        schema: {
          operationId: 'listCapabilities',
          tags: ['classify'],
          summary: 'Each capability with its dependencies, model, backend and device.',
          response: { 200: jsonResponse('The configured capabilities.', capabilitiesSchema), ...errorResponses(...access) },
        },
      },
      async () => ({ capabilities: service.describeCapabilities() }),
    );

    app.get(
      '/stats',
      {
        schema: {
          operationId: 'getStats',
          tags: ['health'],
          summary: 'Batching statistics, including executions saved by batching.',
          response: { 200: jsonResponse('Batching, cache and model statistics.', statsSchema), ...errorResponses(...access) },
        },
      },
      async () => ({
        phase: service.phase,
        ...service.stats.snapshot(),
        resultCache: service.resultCacheStats(),
        models: service.pool.status(),
        costCurves: service.pool.costCurves(),
      }),
    );

    app.get(
      '/metrics',
      {
        schema: {
          operationId: 'getMetrics',
          tags: ['health'],
          summary: 'Prometheus metrics.',
          response: { 200: { description: 'The Prometheus text exposition format.', content: { 'text/plain': { schema: z.string() } } }, ...errorResponses(...access) },
        },
      },
      async (_request, reply) => {
        reply.type(service.metrics.registry.contentType);
        return service.metrics.registry.metrics();
      },
    );
  };
}
