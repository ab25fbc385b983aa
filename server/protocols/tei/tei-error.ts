import { type CapserveError, type ErrorCode } from '../../../core/errors.js';
import { type TeiErrorBody, type TeiErrorType } from './types.js';

/** A TEI error response: its status and `{ error, error_type }` body. */
export interface TeiError {
  readonly status: number;
  readonly body: TeiErrorBody;
}

/**
 * Codes whose TEI status or type is not the default for their registry status. Size limits stay
 * 413: TEI answered every `Validation` error with 413 until 1.9 and still documents 413 for a
 * batch over `max_client_batch_size`. Other input problems are 422 as in TEI 1.9 and later.
 */
const byCode: Partial<Record<ErrorCode, { status: number; type: TeiErrorType }>> = {
  TOO_MANY_TEXTS: { status: 413, type: 'Validation' },
  TEXT_TOO_LONG: { status: 413, type: 'Validation' },
  PAYLOAD_TOO_LARGE: { status: 413, type: 'Validation' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, type: 'Validation' },
  UNAUTHORIZED: { status: 401, type: 'Unauthorized' },
  FORBIDDEN: { status: 403, type: 'Unauthorized' },
  // The configured TEI capability is missing: the server cannot serve the route, as TEI answers
  // `/predict` on an embedding model.
  UNKNOWN_CAPABILITY: { status: 424, type: 'Backend' },
};

/**
 * A registry error as TEI would answer it: 400 `Empty` for an empty batch; 413/415/422
 * `Validation` for input problems (a tokenizer failure is `Tokenizer`); 429 `Overloaded` for
 * admission control and rate limits; 503 `Unhealthy` while loading, stopping, or without the
 * capability's model; 424 `Backend` for every failure of the work itself.
 */
export function toTeiError(error: CapserveError): TeiError {
  const known = byCode[error.code];
  if (known !== undefined) return teiError(known.status, known.type, error.message);
  if (error.code === 'VALIDATION_ERROR' && error.details?.empty === true) return teiError(400, 'Empty', error.message);
  const status = error.statusCode;
  if (status === 429) return teiError(429, 'Overloaded', error.message);
  if (status === 503) return teiError(503, 'Unhealthy', error.message);
  if (status >= 500) return teiError(424, 'Backend', error.message);
  if (/TOKENIZ/.test(error.code)) return teiError(422, 'Tokenizer', error.message);
  return teiError(422, 'Validation', error.message);
}

function teiError(status: number, type: TeiErrorType, message: string): TeiError {
  return { status, body: { error: message, error_type: type } };
}
