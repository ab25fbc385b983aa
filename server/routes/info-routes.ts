import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type CapserveService } from '../../engine/service.js';
import { access, errorResponses, jsonResponse } from '../openapi/error-responses.js';
import { liveness, metricsText, serviceReadiness } from './probe-answers.js';
import { capabilitiesSchema, healthSchema, readinessSchema, statsSchema } from '../openapi/response-schemas.js';

/** Liveness, readiness, the capability list, statistics and Prometheus metrics. */
export function infoRoutes(service: CapserveService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/health',
      { schema: { operationId: 'getHealth', tags: ['health'], summary: 'Liveness: the process answers.', response: { 200: jsonResponse('The process is up.', healthSchema) } } },
      async () => liveness(service),
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
        const readiness = serviceReadiness(service);
        reply.code(readiness.ready ? 200 : 503);
        return readiness;
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
      async (_request, reply) => metricsText(service.metrics.registry, reply),
    );
  };
}
