import { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { CapserveError } from '../core/errors.js';
import { validationError } from '../core/format-issues.js';
import { noteAnsweredError } from './answered-error.js';

/** Fastify errors that are the client's fault, mapped onto our codes. */
const clientErrors: Record<string, CapserveError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_ERROR',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_ERROR',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_ERROR',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_FIELDS_LIMIT: 'PAYLOAD_TOO_LARGE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_PROTO_VIOLATION: 'VALIDATION_ERROR',
};


/**
 * What an error thrown while handling a request is in the registry: a `CapserveError` as it is,
 * a schema validation failure as VALIDATION_ERROR with its issues, a known fastify client error
 * under its code. Undefined for anything else: a bug, which the caller logs and answers with
 * INTERNAL_ERROR. Every protocol's error handler starts here and only the body's shape differs.
 */
export function registryErrorOf(error: FastifyError): CapserveError | undefined {
  if (hasZodFastifySchemaValidationErrors(error)) {
    // The provider writes the root as "/"; a JSON pointer to the whole value is "".
    const issues = error.validation.map((v) => ({ path: v.instancePath === '/' ? '' : v.instancePath, message: v.message ?? 'is invalid' }));
    return validationError(error.validationContext ?? 'request', issues);
  }
  if (error instanceof CapserveError) return error;
  const code = error.code === undefined ? undefined : clientErrors[error.code];
  return code === undefined ? undefined : new CapserveError(code, error.message);
}

/** The headers a coded error response carries: Retry-After when the error says when, and the Bearer challenge on 401. */
export function setErrorHeaders(reply: FastifyReply, error: CapserveError): void {
  const retryAfter = error.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  if (error.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer');
}

/** How a protocol answers a coded error: the status and the body in its own shape. */
export type ErrorShape = (error: CapserveError) => { readonly status: number; readonly body: unknown };

/** capserve's own envelope, `{ error: { code, message, ... } }`, under the registry's status. */
export const capserveErrorShape: ErrorShape = (error) => ({ status: error.statusCode, body: error.toBody() });

/**
 * Sets the error handler of `app`'s context (and, with `notFound`, its not-found handler): every
 * thrown error becomes a registry error ({@link registryErrorOf}; anything else is a bug, logged
 * and answered as INTERNAL_ERROR), 5xx answers are logged, Retry-After and the Bearer challenge
 * are set, and `shape` writes the body. The root app and each protocol plugin differ only in `shape`.
 */
export function answerErrors(app: FastifyInstance, shape: ErrorShape, options: { readonly notFound: boolean }): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let mapped = registryErrorOf(error);
    if (mapped === undefined) {
      request.log.error({ err: error }, 'unhandled error');
      mapped = new CapserveError('INTERNAL_ERROR');
    } else if (mapped.statusCode >= 500) {
      request.log.error({ err: mapped, code: mapped.code }, mapped.message);
    }
    setErrorHeaders(reply, mapped);
    noteAnsweredError(reply, mapped.code);
    const { status, body } = shape(mapped);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  if (options.notFound) {
    app.setNotFoundHandler((request, reply) => {
      const { status, body } = shape(new CapserveError('NOT_FOUND', `no route ${request.method} ${request.url}`));
      noteAnsweredError(reply, 'NOT_FOUND');
      return reply.code(status).type('application/json; charset=utf-8').send(body);
    });
  }
}
