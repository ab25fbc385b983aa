import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

/** `POST /admin/reload`: swap in the capabilities file as it is now, atomically. */
export function adminRoutes(reload: () => Promise<{ capabilities: string[] }>): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/admin/reload', { schema: { summary: 'Reload CAPABILITIES_CONFIG: in-flight batches finish on the old configuration, new ones use the new.' } }, async () =>
      reload(),
    );
  };
}
