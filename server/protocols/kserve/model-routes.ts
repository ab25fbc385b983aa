import { type FastifyPluginAsync } from 'fastify';
import { type KserveService, findModel } from './find-model.js';
import { modelMetadata } from './model-signature.js';

/** A model's routes come with and without `/versions/{version}`. */
export const modelPaths = (suffix: string): string[] => [`/models/:name${suffix}`, `/models/:name/versions/:version${suffix}`];

/** A unique operation id for the unversioned (0) and versioned (1) route of a pair. */
export const operationId = (base: string, versioned: number): string => (versioned === 0 ? base : `${base}Version`);

export interface ModelParams {
  readonly name: string;
  readonly version?: string;
}

const tags = ['KServe V2'];

/**
 * Health and metadata. A health answer is its status alone (200 true, 400 false, empty body),
 * as the protocol says: 4xx, not 503, means "not ready".
 */
export function modelRoutes(service: KserveService, server: { readonly name: string; readonly version: string }): FastifyPluginAsync {
  return async (app) => {
    app.get('', { schema: { operationId: 'kserveServerMetadata', summary: 'KServe V2 server metadata.', tags } }, async () => ({
      name: server.name,
      version: server.version,
      extensions: ['binary_tensor_data'],
    }));
    app.get('/health/live', { schema: { operationId: 'kserveServerLive', summary: 'KServe V2 liveness: the server answers.', tags } }, async (_request, reply) => reply.code(200).send());
    app.get('/health/ready', { schema: { operationId: 'kserveServerReady', summary: 'KServe V2 readiness: every model is loaded.', tags } }, async (_request, reply) =>
      reply.code(service.ready ? 200 : 400).send(),
    );
    for (const [i, url] of modelPaths('').entries()) {
      app.get<{ Params: ModelParams }>(url, { schema: { operationId: operationId('kserveModelMetadata', i), summary: 'KServe V2 model metadata: a capability as a model.', tags } }, async (request) => {
        const capability = findModel(service, request.params.name, request.params.version);
        return modelMetadata(capability, capability.model === null ? undefined : service.pool.info(capability.model));
      });
    }
    for (const [i, url] of modelPaths('/ready').entries()) {
      app.get<{ Params: ModelParams }>(url, { schema: { operationId: operationId('kserveModelReady', i), summary: 'KServe V2 model readiness.', tags } }, async (request, reply) => {
        if (!service.ready) return reply.code(400).send();
        const capability = findModel(service, request.params.name, request.params.version);
        return reply.code(capability.available ? 200 : 400).send();
      });
    }
  };
}
