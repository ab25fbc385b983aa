import { randomUUID } from 'node:crypto';
import { type IncomingMessage } from 'node:http';

/** The header a request id comes in and goes out in. */
export const requestIdHeader = 'x-request-id';

/** The longest client id kept; longer ones are replaced. */
export const maxRequestIdLength = 128;

// Printable ASCII without the space: what survives a log line, a header and a grep unquoted.
const wellFormedId = new RegExp(`^[\\x21-\\x7e]{1,${maxRequestIdLength}}$`);

/** Whether a client's request id may be kept as it is. */
export function isWellFormedRequestId(value: unknown): value is string {
  return typeof value === 'string' && wellFormedId.test(value);
}

/** Each raw request's id, for the WebSocket upgrade response, which fastify's reply never writes. */
const idsOfRaw = new WeakMap<IncomingMessage, string>();

/**
 * fastify's `genReqId`: the client's `x-request-id` when it is well formed (so a caller's id
 * follows its request through our logs), else a fresh UUID. A malformed one (too long, control
 * characters, spaces, non-ASCII, repeated) is dropped, never logged: it would let a client
 * write into the log or make lines unsearchable.
 */
export function requestIdOf(raw: IncomingMessage): string {
  const given = raw.headers[requestIdHeader];
  const id = isWellFormedRequestId(given) ? given : randomUUID();
  idsOfRaw.set(raw, id);
  return id;
}

/** The id {@link requestIdOf} gave this raw request, if it went through fastify. */
export function requestIdOfRaw(raw: IncomingMessage): string | undefined {
  return idsOfRaw.get(raw);
}
