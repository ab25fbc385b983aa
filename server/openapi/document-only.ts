import { type FastifySerializerCompiler } from 'fastify';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import { type z } from 'zod';

const unchecked = new WeakSet<object>();

/**
 * Marks a response schema as documentation only: the OpenAPI document describes the body with
 * it, but the serializer writes the body with plain JSON.stringify instead of encoding it
 * through zod. For hot, large bodies (every text's results, embeddings of hundreds of numbers)
 * whose shape is guaranteed upstream: checking every number on every reply costs more than
 * the batch it answers, and a union would strip fields. Tests check real bodies against it.
 */
export function documentOnly<T extends z.ZodType>(schema: T): T {
  unchecked.add(schema);
  return schema;
}

/** fastify-type-provider-zod's serializer, except for schemas marked `documentOnly`. */
export const serializerCompiler: FastifySerializerCompiler<z.ZodType | { properties: z.ZodType }> = (route) => {
  const schema = route.schema as object;
  if (unchecked.has(schema)) return (data) => JSON.stringify(data);
  return zodSerializerCompiler(route);
};
