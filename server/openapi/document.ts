import { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { z } from 'zod';
import { capabilityResultSchemas } from '../../capabilities/result-schemas.js';
import { type CapabilitySpec } from '../../capabilities/config-schema.js';

/** The tags of the native API, in the order the document lists them. */
const tags = [
  { name: 'classify', description: 'Capabilities over texts, batched.' },
  { name: 'jobs', description: '`/process`: planned jobs over texts and files, inline or queued.' },
  { name: 'websocket', description: 'Streaming classify and process requests over one socket.' },
  { name: 'models', description: 'The versioned model repository.' },
  { name: 'training', description: 'Train, evaluate and predict as model jobs.' },
  { name: 'datasets', description: 'Stored labelled data for training.' },
  { name: 'reviews', description: 'Human review of low-confidence results, and the audit log.' },
  { name: 'admin', description: 'Operating the server.' },
  { name: 'health', description: 'Liveness, readiness, statistics and metrics.' },
];

/** The name of the security scheme every route but the exempt ones requires. */
export const securitySchemeName = 'apiKey';

/** @fastify/swagger's options: info, servers, the bearer scheme applied globally, tags. */
export function openapiOptions(version: string): Pick<FastifyDynamicSwaggerOptions, 'openapi'> {
  return {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'capserve',
        version,
        description: 'Capability-aware inference server: models stay resident, requests are batched by capability.',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      // Relative: the document is served by the server it describes, wherever that is mounted.
      servers: [{ url: '/', description: 'The server that serves this document.' }],
      tags,
      components: {
        securitySchemes: {
          [securitySchemeName]: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key as a bearer token, when the server runs with API_KEYS (without it every route is open).',
          },
        },
      },
      security: [{ [securitySchemeName]: [] }],
    },
  };
}

/** What the served document depends on at the time it is served. */
export interface DocumentContext {
  /** Routes served without a key (AUTH_EXEMPT_PATHS): `security: []`. */
  readonly exemptPaths: readonly string[];
  /** The capabilities in service now (empty before start: then only the generic result is documented). */
  readonly capabilities: readonly Pick<CapabilitySpec, 'name' | 'kind'>[];
}

type Json = Record<string, unknown>;

/**
 * The document as served: @fastify/swagger's, plus what only the running server knows (its
 * capability names and kinds, its exempt routes), the WebSocket upgrade's 101, response
 * objects opened to fields a newer server adds, and no unused components.
 */
export function finishDocument(generated: unknown, context: DocumentContext): Json {
  const document = structuredClone(generated) as Json & { paths: Record<string, Record<string, Json>>; components: Json & { schemas: Record<string, Json> } };
  for (const path of context.exemptPaths) {
    for (const operation of Object.values(document.paths[path] ?? {})) operation.security = [];
  }
  const ws = document.paths['/ws']?.get as { responses?: Json } | undefined;
  if (ws !== undefined) ws.responses = { 101: { description: 'Switching Protocols: the socket is open.' }, ...ws.responses };
  document.components.schemas.ClassifyResult = classifyResultSchema(context.capabilities);
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path)) openResponses(operation.responses);
  }
  for (const [name, schema] of Object.entries(document.components.schemas)) {
    if (!name.endsWith('Input')) openResponses(schema);
  }
  pruneComponents(document);
  return document;
}

const componentRef = (schema: z.ZodType): Json => ({ $ref: `#/components/schemas/${String(z.globalRegistry.get(schema)?.id)}` });

/**
 * One text's results: a property per capability in service with its kind's schema, and any
 * other name (a capability added by a reload or by training) as any kind's result.
 */
function classifyResultSchema(capabilities: DocumentContext['capabilities']): Json {
  return {
    type: 'object',
    description: "One text's results, keyed by requested capability name; only the requested capabilities are present.",
    properties: Object.fromEntries(capabilities.map((spec) => [spec.name, componentRef(capabilityResultSchemas[spec.kind])])),
    additionalProperties: { $ref: '#/components/schemas/CapabilityResult' },
  };
}

/** Drops `additionalProperties: false` everywhere below `value`: a response may grow, and a client must not break when it does. */
function openResponses(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) openResponses(item);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Json;
  if (record.additionalProperties === false) delete record.additionalProperties;
  for (const child of Object.values(record)) openResponses(child);
}

/** Removes component schemas nothing references (zod's input twins of output schemas, mostly). */
function pruneComponents(document: Json & { components: { schemas: Record<string, Json> } }): void {
  const schemas = document.components.schemas;
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string' && child.startsWith('#/components/schemas/')) {
        const name = child.slice('#/components/schemas/'.length);
        if (!used.has(name)) {
          used.add(name);
          visit(schemas[name]);
        }
      } else visit(child);
    }
  };
  visit({ ...document, components: { ...document.components, schemas: {} } });
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
}
