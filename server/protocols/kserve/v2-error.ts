import { type CapserveError, type ErrorCode } from '../../../core/errors.js';

/**
 * The V2 error object, `{ "error": "message" }`, which KServe and Triton clients read; `code`
 * adds capserve's registry code so a program can tell errors apart without parsing the message.
 */
export interface V2Error {
  readonly error: string;
  readonly code: ErrorCode;
}

export function toV2Error(error: CapserveError): V2Error {
  return { error: error.message, code: error.code };
}
