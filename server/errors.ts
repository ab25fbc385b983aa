/**
 * The one registry of coded errors. Every error a client or operator can see has a stable
 * code, an HTTP status and a default message; README.md documents each code (a test checks).
 */
export const errorDefinitions = {
  VALIDATION_ERROR: { status: 400, message: 'The request is invalid.' },
  UNKNOWN_CAPABILITY: { status: 400, message: 'Unknown capability.' },
  DUPLICATE_CAPABILITY: { status: 400, message: 'A capability is requested more than once.' },
  UNAUTHORIZED: { status: 401, message: 'An API key is required.' },
  FORBIDDEN: { status: 403, message: 'The API key is not valid.' },
  NOT_FOUND: { status: 404, message: 'No such route.' },
  JOB_NOT_FOUND: { status: 404, message: 'No such job (it may have expired).' },
  MODEL_NOT_FOUND: { status: 404, message: 'No such model in the model repository.' },
  MODEL_VERSION_NOT_FOUND: { status: 404, message: 'No such version of the model.' },
  DATASET_NOT_FOUND: { status: 404, message: 'No such data set.' },
  REVIEW_NOT_FOUND: { status: 404, message: 'No such review item.' },
  REVIEW_CONFLICT: { status: 409, message: 'The review item is not assigned to this reviewer, or is already resolved.' },
  CAPABILITY_EXISTS: { status: 409, message: 'A capability of that name is already configured.' },
  JOB_FINISHED: { status: 409, message: 'The job has already finished.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  TOO_MANY_TEXTS: { status: 413, message: 'Too many texts in one request.' },
  TEXT_TOO_LONG: { status: 413, message: 'A text is too long.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The content type is not supported.' },
  UNSUPPORTED_MEDIA: { status: 422, message: 'This media cannot be processed here.' },
  RELOAD_REJECTED: { status: 422, message: 'The new configuration was rejected; the running one stays.' },
  TRAINING_DATA_INVALID: { status: 422, message: 'The labelled data cannot train or evaluate this model.' },
  MODEL_CHECKSUM_MISMATCH: { status: 422, message: 'A model file does not match the SHA-256 in its manifest.' },
  OVERLOADED: { status: 429, message: 'The server is at capacity; retry after the time given.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests from this client; retry after the time given.' },
  REQUEST_CANCELLED: { status: 499, message: 'The request was cancelled before it finished.' },
  CAPABILITY_FAILED: { status: 500, message: 'A capability failed.' },
  DEPENDENCY_FAILED: { status: 500, message: 'A dependency of the capability failed.' },
  CAPABILITY_BAD_OUTPUT: { status: 500, message: 'A capability returned the wrong number of results.' },
  CAPABILITY_TIMEOUT: { status: 504, message: 'A capability did not finish within its time limit.' },
  INTERNAL_ERROR: { status: 500, message: 'Internal server error.' },
  CAPABILITY_UNAVAILABLE: { status: 503, message: 'The capability is unavailable because its model did not load.' },
  NOT_READY: { status: 503, message: 'The server is still loading its models.' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down.' },
  DEADLINE_EXCEEDED: { status: 504, message: 'The request did not finish before its deadline.' },
  CONFIG_INVALID: { status: 500, message: 'The configuration is invalid.' },
  MODEL_LOAD_FAILED: { status: 500, message: 'A model failed to load.' },
} as const satisfies Record<string, { status: number; message: string }>;

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
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function isCapserveError(error: unknown): error is CapserveError {
  return error instanceof CapserveError;
}

/** A message safe to show: never a stack trace. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
