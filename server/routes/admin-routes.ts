import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { access, errorResponses, jsonResponse } from '../openapi/error-responses.js';
import { reloadSchema } from '../openapi/response-schemas.js';

/** `POST /admin/reload`: swap in the capabilities file as it is now, atomically. */
export function adminRoutes(reload: () => Promise<{ capabilities: string[] }>): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/admin/reload',
      {
        schema: {
          operationId: 'reloadCapabilities',
          tags: ['admin'],
          summary: 'Reload CAPABILITIES_CONFIG: in-flight batches finish on the old configuration, new ones use the new.',
          response: { 200: jsonResponse('The capabilities now served, and what the reload did to the speech backend.', reloadSchema), ...errorResponses(422, 500, 503, ...access) },
        },
      },
      async () => reload(),
    );
  };
}
