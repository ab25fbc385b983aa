import { type FastifySchema } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A request body the handler parses itself (multipart, or JSON it validates in one place
     * with the multipart fields), by media type: documented, never validated by fastify.
     */
    openapiBody?: Readonly<Record<string, z.ZodType>>;
  }
}

type TransformInput = Parameters<typeof jsonSchemaTransform>[0];

/**
 * fastify-type-provider-zod's transform (zod → JSON Schema for each route), plus the request
 * bodies routes declare in `config.openapiBody`, and WebSocket upgrades shown.
 */
export function openapiTransform(input: TransformInput): { schema: FastifySchema; url: string } {
  // @fastify/websocket hides every WebSocket route from the document; the upgrade is part of our API.
  const upgrade = (input.route as { websocket?: boolean }).websocket === true;
  const transformed = jsonSchemaTransform(upgrade ? { ...input, schema: { ...input.schema, hide: false } } : input);
  const bodies = (input.route as { config?: { openapiBody?: Readonly<Record<string, z.ZodType>> } }).config?.openapiBody;
  if (bodies === undefined || transformed.schema.hide === true) return transformed;
  const content = Object.fromEntries(
    Object.entries(bodies).map(([mediaType, schema]) => [mediaType, { schema: z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) }]),
  );
  return { ...transformed, schema: { ...transformed.schema, body: { content } } };
}
