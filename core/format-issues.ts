import { type z } from 'zod';
import { CapserveError } from './errors.js';

/** `path: message; path: message` for zod issues, the root named `(root)`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => `${pathOf(issue)}: ${issue.message}`).join('; ');
}

/** An issue's path as dotted text, `(root)` for the value itself. */
export const pathOf = (issue: z.core.$ZodIssue): string => issue.path.map(String).join('.') || '(root)';

/**
 * One problem with a request or message, as every VALIDATION_ERROR carries it (HTTP bodies,
 * query strings, `/process` fields and WebSocket messages alike): `path` is a JSON pointer
 * (RFC 6901) into the value, `""` for the value itself.
 */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** A path as a JSON pointer: `["texts", 0]` is `/texts/0`; `~` and `/` in keys are escaped. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((key) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** zod issues as validation issues: the one place their shape is decided. */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({ path: jsonPointer(issue.path), message: issue.message }));
}

/**
 * The VALIDATION_ERROR for a value that failed its schema: `{ code, message, issues }`, the
 * message naming what was invalid (`body`, `querystring`, `message`…) and each issue.
 */
export function validationError(what: string, issues: readonly ValidationIssue[] | readonly z.core.$ZodIssue[]): CapserveError {
  const list = issues.map((issue) => (typeof issue.path === 'string' ? (issue as ValidationIssue) : toValidationIssues([issue as z.core.$ZodIssue])[0] as ValidationIssue));
  const summary = list.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ');
  return new CapserveError('VALIDATION_ERROR', `invalid ${what}: ${summary}`, { details: { issues: list } });
}
