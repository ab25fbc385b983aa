import { type MultipartFile } from '@fastify/multipart';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { validationError } from '../../core/format-issues.js';
import { priorities } from '../../jobs/types.js';
import { replyError } from '../../batcher/reply-error.js';
import { CapserveError, isCapserveError, messageOf } from '../../core/errors.js';
import { isWellFormed } from '../well-formed.js';
import { noteBatch, noteCapabilities, noteJob } from '../request-facts.js';
import { type ProcessFrontEnd, type ProcessInput, type ProcessOutcome } from '../../jobs/front-end.js';
import { type Spool, type SpooledFile } from '../../jobs/spool.js';
import { classifyResultSchema } from './classify-route.js';
import { identityOf } from '../authenticate.js';
import { type JobOwners, ownerFor } from '../job-owners.js';
import { access, errorResponses, jsonResponse } from '../openapi/error-responses.js';
import { batchInfoSchema, jobPlanSchema, jobRecordSchema } from '../openapi/response-schemas.js';

export const processFieldsSchema = z
  .object({
    text: z.string().min(1).refine(isWellFormed, 'text is not well-formed Unicode (it has a lone surrogate)').optional(),
    capabilities: z.array(z.string().min(1)).default([]),
    options: z.record(z.string(), z.unknown()).default({}),
    priority: z.enum(priorities).default('normal'),
  })
  .strict();

/** The multipart form of `/process`, for the document: fields arrive as text. */
const processFormSchema = z.object({
  file: z.string().meta({ format: 'binary', description: 'The one file of the job; its type is sniffed from its bytes.' }),
  capabilities: z.string().optional().meta({ description: 'Comma-separated names, or a JSON array.' }),
  options: z.string().optional().meta({ description: 'A JSON object.' }),
  priority: z.enum(priorities).optional(),
});

const inlineReplySchema = z
  .object({ results: z.array(classifyResultSchema), batch: batchInfoSchema, route: jobPlanSchema, timingMs: z.number() })
  .meta({ description: 'Run inline: each text\'s results, as /classify answers them, with the plan.' });
const queuedReplySchema = z
  .object({ jobId: z.string(), status: z.string(), route: jobPlanSchema })
  .meta({ description: 'Queued: follow the job at the Location header (`/jobs/{id}`).' });

/**
 * `POST /process`, `GET /jobs/:id`, `DELETE /jobs/:id`. Texts are bounded by BODY_LIMIT_BYTES and
 * files by MAX_UPLOAD_BYTES (multipart limits); a file is streamed into the spool, never held
 * in memory, and an upload is refused (429) before its body is read when the queues are full or
 * its Content-Length would pass the spool's budget.
 */
export function processRoutes(frontEnd: ProcessFrontEnd, owners?: JobOwners): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/process',
      {
        schema: {
          operationId: 'process',
          tags: ['jobs'],
          summary: 'Plan and route a job: text as JSON, or a file as multipart (field "file") with "capabilities", "options", "priority".',
          response: {
            200: jsonResponse('Run inline.', inlineReplySchema),
            202: jsonResponse('Queued.', queuedReplySchema),
            ...errorResponses(400, 413, 415, 422, 429, 499, 500, 503, 504, ...access),
          },
        },
        // Parsed by the handler (JSON or multipart), so documented here rather than validated by fastify.
        config: { openapiBody: { 'application/json': processFieldsSchema, 'multipart/form-data': processFormSchema } },
      },
      async (request, reply) => {
        const started = performance.now();
        let input: ProcessInput;
        if (request.isMultipart()) {
          await frontEnd.admitUpload(Number(request.headers['content-length'] ?? 0) || 0);
          input = await readMultipart(request, frontEnd.spool);
        } else {
          input = parseFields(request.body);
        }
        const controller = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        noteCapabilities(request, input.capabilities);
        const outcome = await frontEnd.submit({ ...input, requestId: request.id }, controller.signal, request.log);
        if (outcome.kind === 'queued') noteJob(request, outcome.job.id);
        else noteBatch(request, outcome.reply.batch.id);
        // A key's jobs can be followed on its WebSocket too; without keys, over HTTP only.
        const owner = ownerFor(identityOf(request)?.label, 'http');
        if (outcome.kind === 'queued' && owner !== undefined) owners?.record(outcome.job.id, owner);
        return answer(outcome, reply, started);
      },
    );

    const params = z.object({ id: z.string().min(1).max(200) });
    app.get('/jobs/:id', {
        schema: {
          operationId: 'getJob',
          tags: ['jobs'],
          summary: 'A job: status, progress, attempts, result or error.',
          params,
          response: { 200: jsonResponse('The job.', jobRecordSchema), ...errorResponses(400, 404, ...access) },
        },
      }, async (request) =>
      frontEnd.get(request.params.id),
    );
    app.delete('/jobs/:id', {
        schema: {
          operationId: 'cancelJob',
          tags: ['jobs'],
          summary: 'Cancel a queued or running job.',
          params,
          response: { 200: jsonResponse('The job, cancelled.', jobRecordSchema), ...errorResponses(400, 404, 409, ...access) },
        },
      }, async (request) =>
      frontEnd.cancel(request.params.id),
    );
  };
}

function answer(
  outcome: ProcessOutcome,
  reply: FastifyReply,
  started: number,
): z.infer<typeof inlineReplySchema> | z.infer<typeof queuedReplySchema> {
  if (outcome.kind === 'queued') {
    reply.code(202).header('location', `/jobs/${outcome.job.id}`);
    return { jobId: outcome.job.id, status: outcome.job.status, route: outcome.plan };
  }
  const failed = replyError(outcome.reply);
  if (failed !== undefined) throw failed;
  return {
    results: outcome.reply.results,
    batch: outcome.reply.batch,
    route: outcome.plan,
    timingMs: Math.round((performance.now() - started) * 1000) / 1000,
  };
}

function parseFields(raw: unknown): ProcessInput {
  const parsed = processFieldsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw validationError('body', parsed.error.issues);
  }
  return parsed.data;
}

/** Reads one file part into the spool and the form fields; the file's type is sniffed later from its bytes. */
async function readMultipart(request: FastifyRequest, spool: Spool): Promise<ProcessInput> {
  const spooled: SpooledFile[] = [];
  try {
    return await readParts(request, spool, spooled);
  } catch (error) {
    await Promise.all(spooled.map((file) => spool.release(file.path)));
    // Coded errors (ours, and the multipart limits') keep their codes; the parser's own are malformed bodies.
    if (isCapserveError(error) || String((error as { code?: unknown }).code ?? '').startsWith('FST_')) throw error;
    throw new CapserveError('VALIDATION_ERROR', `malformed multipart body: ${messageOf(error)}`);
  }
}

/** `spooled` collects what was written, so that the caller deletes it when reading fails. */
async function readParts(request: FastifyRequest, spool: Spool, spooled: SpooledFile[]): Promise<ProcessInput> {
  const fields: Record<string, unknown> = {};
  let file: { data: SpooledFile; name: string } | undefined;
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (file !== undefined || part.fieldname !== 'file') {
        throw new CapserveError('VALIDATION_ERROR', 'send exactly one file, in the field "file"');
      }
      const stream = (part as MultipartFile).file;
      const data = await spool.write(stream);
      spooled.push(data);
      if (stream.truncated) throw new CapserveError('PAYLOAD_TOO_LARGE', 'the file is over MAX_UPLOAD_BYTES');
      file = { data, name: part.filename };
      continue;
    }
    const value = String(part.value);
    if (part.fieldname === 'capabilities') {
      const names = value.trim().startsWith('[') ? parseJson(value, 'capabilities') : value.split(',').map((s) => s.trim()).filter(Boolean);
      fields.capabilities = [...((fields.capabilities as unknown[] | undefined) ?? []), ...(Array.isArray(names) ? names : [names])];
    } else if (part.fieldname === 'options') {
      fields.options = parseJson(value, 'options');
    } else {
      fields[part.fieldname] = value;
    }
  }
  const input = parseFields(fields);
  if (file === undefined) return input;
  if (file.data.bytes === 0) throw new CapserveError('VALIDATION_ERROR', 'the uploaded file is empty');
  return { ...input, file: file.data, fileName: file.name };
}

function parseJson(value: string, field: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new CapserveError('VALIDATION_ERROR', `the "${field}" field is not valid JSON`);
  }
}
