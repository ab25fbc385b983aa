import { CapserveError } from '../../../core/errors.js';

/** The header that gives the JSON part's length when binary tensor data follows it. */
export const headerLengthHeader = 'inference-header-content-length';

/** An inference request body split in two: the JSON object, and the binary tensor data after it (empty without). */
export interface InferBody {
  readonly header: unknown;
  readonly binary: Buffer;
}

export function isInferBody(value: unknown): value is InferBody {
  return typeof value === 'object' && value !== null && 'header' in value && Buffer.isBuffer((value as { binary?: unknown }).binary);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 that must be well-formed: malformed bytes are the client's error, never U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new CapserveError('VALIDATION_ERROR', `${what} is not well-formed UTF-8`);
  }
}

/**
 * Splits a raw body by the binary tensor data extension: with `Inference-Header-Content-Length`
 * the first that many bytes are the JSON object and the rest is tensor data; without it the
 * whole body is JSON. A length that is not a decimal integer, or that points past the body, is
 * refused before anything is parsed.
 */
export function splitInferBody(body: Buffer, headerLength: string | string[] | undefined): InferBody {
  if (Array.isArray(headerLength)) throw new CapserveError('VALIDATION_ERROR', `give ${headerLengthHeader} once`);
  let jsonLength = body.length;
  if (headerLength !== undefined) {
    if (!/^\d{1,15}$/.test(headerLength.trim())) {
      throw new CapserveError('VALIDATION_ERROR', `${headerLengthHeader} must be a non-negative decimal integer, got "${headerLength.slice(0, 32)}"`);
    }
    jsonLength = Number(headerLength.trim());
    if (jsonLength > body.length) {
      throw new CapserveError('VALIDATION_ERROR', `${headerLengthHeader} is ${jsonLength} but the body has only ${body.length} bytes`, {
        details: { headerLength: jsonLength, bodyLength: body.length },
      });
    }
  }
  if (jsonLength === 0) throw new CapserveError('VALIDATION_ERROR', 'the body has no JSON inference request');
  const text = decodeUtf8(body.subarray(0, jsonLength), 'the JSON inference request');
  return { header: parseJson(text), binary: body.subarray(jsonLength) };
}

/** JSON.parse that refuses `__proto__` keys, as fastify's own JSON parser does. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw new CapserveError('VALIDATION_ERROR', 'the JSON inference request has a forbidden "__proto__" key');
      return value;
    });
  } catch (error) {
    if (error instanceof CapserveError) throw error;
    // A header length that cuts the JSON short, or runs into the binary data, lands here.
    throw new CapserveError('VALIDATION_ERROR', `the inference request is not valid JSON: ${(error as Error).message}`);
  }
}
