/** What the registry says of one code. */
export interface ErrorDefinition {
  /** The HTTP status a response with this code carries. */
  readonly status: number;
  /** Whether trying the same work again may succeed (a queued job is retried only then). */
  readonly retryable: boolean;
  /** The default message. */
  readonly message: string;
}

/**
 * The one registry of coded errors. Every error a client or operator can see has a stable
 * code, an HTTP status, whether it is worth retrying and a default message; docs/errors.md is
 * generated from it (`npm run docs`, and a test fails when the page is stale).
 */
export const errorDefinitions = {
  VALIDATION_ERROR: { status: 400, retryable: false, message: 'The request is invalid.' },
  UNKNOWN_CAPABILITY: { status: 400, retryable: false, message: 'Unknown capability.' },
  DUPLICATE_CAPABILITY: { status: 400, retryable: false, message: 'A capability is requested more than once.' },
  CONTEXT_LENGTH_EXCEEDED: { status: 400, retryable: false, message: "A text has more tokens than the model's context length." },
  TOKEN_IDS_UNSUPPORTED: { status: 400, retryable: false, message: 'Token ids are not accepted as input; send text.' },
  UNAUTHORIZED: { status: 401, retryable: false, message: 'An API key is required.' },
  FORBIDDEN: { status: 403, retryable: false, message: 'The API key is not valid, or its role (read) may not use this route.' },
  ORIGIN_FORBIDDEN: { status: 403, retryable: false, message: 'A browser request from an origin not listed in CORS_ORIGINS may not change state or open the WebSocket.' },
  NOT_FOUND: { status: 404, retryable: false, message: 'No such route.' },
  JOB_NOT_FOUND: { status: 404, retryable: false, message: 'No such job (it may have expired).' },
  MODEL_NOT_FOUND: { status: 404, retryable: false, message: 'No such model in the model repository.' },
  UNKNOWN_MODEL: { status: 404, retryable: false, message: 'No model of that name on this protocol route (protocol routes name a capability as their model).' },
  MODEL_VERSION_NOT_FOUND: { status: 404, retryable: false, message: 'No such version of the model.' },
  DATASET_NOT_FOUND: { status: 404, retryable: false, message: 'No such data set.' },
  REVIEW_NOT_FOUND: { status: 404, retryable: false, message: 'No such review item.' },
  REVIEW_CONFLICT: { status: 409, retryable: false, message: 'The review item is not assigned to this reviewer, or is already resolved.' },
  CAPABILITY_EXISTS: { status: 409, retryable: false, message: 'A capability of that name is already configured.' },
  JOB_FINISHED: { status: 409, retryable: false, message: 'The job has already finished.' },
  JOB_INPUT_LOST: { status: 410, retryable: false, message: "The job's input (its stored payload or uploaded file) was gone when a restart resumed it." },
  RESULT_EVICTED: { status: 410, retryable: false, message: 'The job finished, but its result was dropped to keep finished results within MAX_RESULT_BYTES.' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'The request body is too large.' },
  TOO_MANY_TEXTS: { status: 413, retryable: false, message: 'Too many texts in one request.' },
  TEXT_TOO_LONG: { status: 413, retryable: false, message: 'A text is too long.' },
  MEDIA_TOO_LARGE: { status: 413, retryable: false, message: 'The file is over a media limit (image pixels, PDF pages or inflated PDF bytes).' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'The content type is not supported.' },
  UNSUPPORTED_MEDIA: { status: 422, retryable: false, message: 'This media cannot be processed here.' },
  MEDIA_DECODE_FAILED: { status: 422, retryable: false, message: 'The audio could not be decoded: ffmpeg cannot read the file, it has no audio stream, or it holds no samples.' },
  RELOAD_REJECTED: { status: 422, retryable: false, message: 'The new configuration was rejected; the running one stays.' },
  JOB_TIMEOUT: { status: 422, retryable: false, message: 'The job ran longer than MAX_JOB_SECONDS; the same input would again.' },
  JOB_INTERRUPTED: { status: 422, retryable: false, message: 'The server stopped while the job ran, on its every try; it is not run again.' },
  TRAINING_DATA_INVALID: { status: 422, retryable: false, message: 'The labelled data cannot train or evaluate this model.' },
  TRAINING_LIMIT_EXCEEDED: { status: 422, retryable: false, message: 'The model job passed its time or memory limit (MAX_TRAINING_SECONDS, MAX_TRAINING_MEMORY_MB).' },
  MODEL_CHECKSUM_MISMATCH: { status: 422, retryable: false, message: 'A model file does not match the SHA-256 in its manifest.' },
  MODEL_MANIFEST_INVALID: { status: 422, retryable: false, message: "A model version's manifest.json is missing, unreadable or invalid, so the version is broken." },
  NO_TOKENIZER: { status: 422, retryable: false, message: 'No model stands behind the capability, so it has no tokenizer.' },
  OVERLOADED: { status: 429, retryable: true, message: 'The server is at capacity; retry after the time given.' },
  RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests from this client; retry after the time given.' },
  REQUEST_CANCELLED: { status: 499, retryable: false, message: 'The request was cancelled before it finished.' },
  CAPABILITY_FAILED: { status: 500, retryable: true, message: 'A capability failed.' },
  DEPENDENCY_FAILED: { status: 500, retryable: true, message: 'A dependency of the capability failed.' },
  CAPABILITY_BAD_OUTPUT: { status: 500, retryable: true, message: 'A capability returned the wrong number of results.' },
  CAPABILITY_TIMEOUT: { status: 504, retryable: true, message: 'A capability did not finish within its time limit.' },
  INTERNAL_ERROR: { status: 500, retryable: true, message: 'Internal server error.' },
  CAPABILITY_UNAVAILABLE: { status: 503, retryable: true, message: 'The capability is unavailable because its model did not load.' },
  RATE_LIMIT_UNAVAILABLE: { status: 503, retryable: true, message: 'Rate limits are shared through Redis, which does not answer, and RATE_LIMIT_REDIS_FAIL=closed refuses requests until it does.' },
  NOT_READY: { status: 503, retryable: true, message: 'The server is still loading its models.' },
  SHUTTING_DOWN: { status: 503, retryable: true, message: 'The server is shutting down.' },
  DEADLINE_EXCEEDED: { status: 504, retryable: true, message: 'The request did not finish before its deadline.' },
  CONFIG_INVALID: { status: 500, retryable: true, message: 'The configuration is invalid.' },
  MODEL_LOAD_FAILED: { status: 500, retryable: true, message: 'A model failed to load.' },
  DEVICE_UNAVAILABLE: { status: 503, retryable: true, message: 'The device a model asks for (webgpu or cuda) cannot start here.' },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof errorDefinitions;

/** An error with a stable code; `details` is machine-readable context sent to the client. */
export class CapserveError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message ?? errorDefinitions[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CapserveError';
    this.code = code;
    this.statusCode = errorDefinitions[code].status;
    this.details = options.details;
  }

  /** The `{ error: { code, message, ... } }` body every error response carries. */
  toBody(): { error: { code: ErrorCode; message: string } & Record<string, unknown> } {
    const error: { code: ErrorCode; message: string } & Record<string, unknown> = { code: this.code, message: this.message, ...this.details };
    // Every VALIDATION_ERROR has the same shape, wherever it was raised: clients read `issues`
    // (JSON-pointer paths; see format-issues.ts) and never parse the message.
    if (this.code === 'VALIDATION_ERROR' && !Array.isArray(error.issues)) error.issues = [{ path: '', message: this.message }];
    return { error };
  }
}

export function isCapserveError(error: unknown): error is CapserveError {
  return error instanceof CapserveError;
}

/**
 * A thrown value as a coded error: a `CapserveError` as it is, anything else as `code` with the
 * registry's message (the original kept as `cause`, never shown to a client).
 */
export function asCapserveError(error: unknown, code: ErrorCode = 'INTERNAL_ERROR'): CapserveError {
  return isCapserveError(error) ? error : new CapserveError(code, undefined, { cause: error });
}

/** A message safe to show: never a stack trace. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorDefinitions, code);
}

/** A failure as it is stored and sent: a registry code and a message (jobs, model jobs, queues). */
export interface ErrorRecord {
  readonly code: ErrorCode;
  readonly message: string;
}

/** The record a thrown value becomes: its `code` when the registry has it, else INTERNAL_ERROR, and its message. */
export function toErrorRecord(error: unknown): ErrorRecord {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return { code: isErrorCode(code) ? code : 'INTERNAL_ERROR', message: messageOf(error) };
}

/**
 * Whether a failure is worth trying again. In order: an explicit boolean `error.retryable`
 * wins; then the registry's word for the error's `code` (a `CapserveError`, or any error
 * carrying a registry code, e.g. UNSUPPORTED_MEDIA from a file sniffer); everything else
 * (plain errors, timeouts, codes the registry does not know, non-Error throws) is retried.
 */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const { retryable, code } = error as { retryable?: unknown; code?: unknown };
  if (typeof retryable === 'boolean') return retryable;
  return isErrorCode(code) ? errorDefinitions[code].retryable : true;
}
