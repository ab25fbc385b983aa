import { z } from 'zod';
import { errorDefinitions, type ErrorCode } from '../../core/errors.js';
import { documentOnly } from './document-only.js';

const errorCodes = Object.keys(errorDefinitions) as [ErrorCode, ...ErrorCode[]];

/** One problem of a VALIDATION_ERROR (see core/format-issues.ts). */
export const validationIssueSchema = z
  .object({
    path: z.string().meta({ description: 'JSON pointer (RFC 6901) into the value, e.g. `/texts/0`; empty for the value itself.' }),
    message: z.string(),
  })
  .meta({ id: 'ValidationIssue' });

/**
 * `CapserveError.toBody()`: every error response of the native API. Loose, because `details`
 * add fields by code (`limit`, `index`, `valid`…); documentation only, because an error body
 * must never fail its own serialization.
 */
export const errorBodySchema = documentOnly(
  z
  .object({
    error: z
      .object({
        code: z.enum(errorCodes).meta({ description: 'A stable code of the error registry (docs/errors.md).' }),
        message: z.string().meta({ description: 'For people; never parse it.' }),
        issues: z.array(validationIssueSchema).optional().meta({ description: 'Present on every VALIDATION_ERROR.' }),
        retryAfterSeconds: z.number().optional().meta({ description: 'On 429 and some 503s, as the Retry-After header says too.' }),
      })
      .loose(),
  })
    .meta({ id: 'ErrorBody', description: 'The error envelope: a registry code, a message, and machine-readable details by code.' }),
);
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** What the document says of a status: its reason and the registry codes that answer with it. */
function describeStatus(status: number): string {
  const codes = errorCodes.filter((code) => errorDefinitions[code].status === status);
  const reason = reasons[status] ?? 'Error';
  return codes.length === 0 ? reason : `${reason}: ${codes.join(', ')}.`;
}

const reasons: Record<number, string> = {
  400: 'Bad request',
  401: 'No API key',
  403: 'The API key is not valid',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
  415: 'Unsupported content type',
  422: 'Cannot be processed',
  429: 'Too many requests',
  499: 'Cancelled by the client',
  500: 'Server error',
  503: 'Unavailable',
  504: 'Deadline exceeded',
};

/** A fastify response entry whose body is the error envelope, with the status's codes as its description. */
export interface ErrorResponse {
  readonly description: string;
  readonly content: { readonly 'application/json': { readonly schema: typeof errorBodySchema } };
}

/**
 * Route response entries for error statuses, in one line: `response: { 200: reply, ...errorResponses(400, 413, 503) }`.
 * Each entry's description lists the registry codes that answer with that status.
 */
export function errorResponses<const S extends number>(...statuses: S[]): Record<S, ErrorResponse> {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: describeStatus(status), content: { 'application/json': { schema: errorBodySchema } } }]),
  ) as Record<S, ErrorResponse>;
}

/**
 * A JSON response with a description (redocly and client generators read it). The schema is
 * documentation only (see `documentOnly`): the body is written as the handler built it.
 */
export function jsonResponse<T extends z.ZodType>(description: string, schema: T): { description: string; content: { 'application/json': { schema: T } } } {
  return { description, content: { 'application/json': { schema: documentOnly(schema) } } };
}

/** What every route behind the API key and the rate limit may answer: 401, 403 and 429. */
export const access = [401, 403, 429] as const;
