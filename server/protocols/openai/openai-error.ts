import { type CapserveError, type ErrorCode } from '../../../core/errors.js';
import { type ValidationIssue } from '../../../core/format-issues.js';
import { type OpenAIErrorBody } from './types.js';

/**
 * The field a code is always about, when the error does not say: OpenAI clients show `param`
 * next to the message, and a 413 on `input` reads better than one on nothing.
 */
const paramOfCode: Partial<Record<ErrorCode, string>> = {
  TOO_MANY_TEXTS: 'input',
  TEXT_TOO_LONG: 'input',
  CONTEXT_LENGTH_EXCEEDED: 'input',
  TOKEN_IDS_UNSUPPORTED: 'input',
  UNKNOWN_MODEL: 'model',
  UNKNOWN_CAPABILITY: 'model',
  CAPABILITY_UNAVAILABLE: 'model',
};

/**
 * OpenAI's `type` for a status. The SDK picks its error class from the status alone; `type` is
 * for clients that branch on it, and these are the values OpenAI's API sends.
 */
export function openAIErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * The request field an error is about: `details.param` when the route named it, else the first
 * schema issue's top-level field, else the code's usual field (an unknown field is named in the
 * message only, as OpenAI does: zod reports it on the body itself).
 */
export function paramOf(error: CapserveError): string | null {
  const named = error.details?.param;
  if (typeof named === 'string') return named;
  const issues = error.details?.issues as readonly ValidationIssue[] | undefined;
  const field = issues?.[0]?.path.split('/').find((segment) => segment !== '');
  return field ?? paramOfCode[error.code] ?? null;
}

/** A registry error in OpenAI's `{ error: { message, type, param, code } }` shape; `code` stays capserve's. */
export function toOpenAIError(error: CapserveError): OpenAIErrorBody {
  return { error: { message: error.message, type: openAIErrorType(error.statusCode), param: paramOf(error), code: error.code } };
}
