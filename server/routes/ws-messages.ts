import { z } from 'zod';
import { errorDefinitions, type ErrorCode } from '../../core/errors.js';
import { anyCapabilityResultSchema } from '../../capabilities/result-schemas.js';
import { validationIssueSchema } from '../openapi/error-responses.js';
import { batchInfoSchema, jobPlanSchema } from '../openapi/response-schemas.js';
import { classifyBodySchema } from './classify-route.js';
import { processFieldsSchema } from './process-routes.js';

/**
 * Every message of `GET /ws`, both ways, as zod schemas: the handlers parse client messages
 * with them, tests check every server message against them, and `GET /docs/ws-messages.json`
 * serves them as JSON Schema (`wsMessagesJsonSchema`).
 */

/** The client's id for a request; every reply to it carries it back. */
export const messageIdSchema = z.union([z.string().min(1).max(200), z.number()]);

/**
 * A message's own W3C trace context, optional on every client message: its span continues that
 * trace rather than the upgrade's. Read like the HTTP headers of the same names: a string the
 * W3C propagator rejects is ignored (the upgrade's trace context is used) and never logged.
 */
export const traceContextFields = {
  traceparent: z.string().max(512).optional().meta({ description: "W3C traceparent: the message's span is a child of this span (else of the upgrade's traceparent)." }),
  tracestate: z.string().max(512).optional().meta({ description: 'W3C tracestate, carried with traceparent.' }),
};

/** `classify` (the default type): the `/classify` body plus an id. */
export const classifyMessageSchema = classifyBodySchema.extend({ id: messageIdSchema, type: z.literal('classify').optional(), ...traceContextFields });
/** `process`: a text through the job planner (the JSON fields of `/process`). */
export const processMessageSchema = processFieldsSchema.extend({ id: messageIdSchema, type: z.literal('process'), text: z.string().min(1), ...traceContextFields });
/** `subscribe` (stream an existing job's events) and `cancel` (cancel it). */
export const jobMessageSchema = z
  .object({ id: messageIdSchema, type: z.enum(['subscribe', 'cancel']), jobId: z.string().min(1).max(200), ...traceContextFields })
  .strict();

/** The `type` of every client message (`classify` when absent). */
export const clientMessageTypes = ['classify', 'process', 'subscribe', 'cancel'] as const;
export type ClientMessageType = (typeof clientMessageTypes)[number];

export const clientMessageSchema = z.union([classifyMessageSchema, processMessageSchema, jobMessageSchema]);

const errorCodes = Object.keys(errorDefinitions) as [ErrorCode, ...ErrorCode[]];

/** One capability's result for one text of a classify or inline process request, as soon as its batch has it. */
export const resultMessageSchema = z.object({
  id: messageIdSchema,
  type: z.literal('result'),
  capability: z.string(),
  index: z.number().int().min(0).meta({ description: 'The index of the text in the request.' }),
  result: anyCapabilityResultSchema,
});
/** A queued job's result. */
export const jobResultMessageSchema = z.object({ id: messageIdSchema, type: z.literal('result'), jobId: z.string(), result: z.unknown() });
/**
 * An error: for a message as a whole (invalid, rate limited, not found…; without `id` when
 * the message had none or was not JSON), one capability of a request (`capability`), or a
 * queued job (`jobId`). The fields of the HTTP error envelope, flattened.
 */
export const errorMessageSchema = z
  .object({
    id: messageIdSchema.optional(),
    type: z.literal('error'),
    code: z.enum(errorCodes),
    message: z.string(),
    capability: z.string().optional(),
    jobId: z.string().optional(),
    issues: z.array(validationIssueSchema).optional(),
    retryAfterSeconds: z.number().optional(),
  })
  .loose();
/** A classify request has finished: `failed` names the capabilities an `error` was sent for. */
export const classifyDoneMessageSchema = z.object({ id: messageIdSchema, type: z.literal('done'), timingMs: z.number(), batch: batchInfoSchema, failed: z.array(z.string()) });
/** An inline process request has finished. */
export const processDoneMessageSchema = z.object({ id: messageIdSchema, type: z.literal('done'), route: jobPlanSchema, timingMs: z.number() });
/** A process request was queued as a job: `progress`, then `result`, `error` or `cancelled` follow. */
export const queuedMessageSchema = z.object({ id: messageIdSchema, type: z.literal('queued'), jobId: z.string(), route: jobPlanSchema });
export const progressMessageSchema = z.object({
  id: messageIdSchema,
  type: z.literal('progress'),
  jobId: z.string(),
  progress: z.number().min(0).max(1),
  stage: z.string().optional(),
});
export const cancelledMessageSchema = z.object({ id: messageIdSchema, type: z.literal('cancelled'), jobId: z.string() });

export const serverMessageSchema = z.union([
  resultMessageSchema,
  jobResultMessageSchema,
  errorMessageSchema,
  classifyDoneMessageSchema,
  processDoneMessageSchema,
  queuedMessageSchema,
  progressMessageSchema,
  cancelledMessageSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** Where the document is served; the OpenAPI `/ws` operation points at it. */
export const wsMessagesPath = '/docs/ws-messages.json';

/**
 * Both directions as one JSON Schema (2020-12) document: `ClientMessage` and `ServerMessage`
 * under `$defs`, each a `anyOf` of the message types; the root accepts either.
 */
export function wsMessagesJsonSchema(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  registry.add(clientMessageSchema, { id: 'ClientMessage' });
  registry.add(serverMessageSchema, { id: 'ServerMessage' });
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', unrepresentable: 'any', uri: (id) => `#/$defs/${id}` });
  const defs: Record<string, unknown> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _schema, $id: _id, $defs, ...rest } = schema as Record<string, unknown>;
    defs[id] = rest;
    Object.assign(defs, $defs as Record<string, unknown> | undefined);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: wsMessagesPath,
    title: 'capserve WebSocket messages (GET /ws)',
    description: 'Client messages are JSON text frames matching ClientMessage; the server answers with ServerMessage frames carrying the same id.',
    anyOf: [{ $ref: '#/$defs/ClientMessage' }, { $ref: '#/$defs/ServerMessage' }],
    $defs: defs,
  };
}
