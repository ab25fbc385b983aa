import { CapserveError } from '../core/errors.js';

/** DUPLICATE_CAPABILITY for a capability named twice in one request. */
export function checkNoDuplicates(names: readonly string[]): void {
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) {
    throw new CapserveError('DUPLICATE_CAPABILITY', `capability "${duplicate}" is requested more than once`, {
      details: { capability: duplicate },
    });
  }
}

/** UNKNOWN_CAPABILITY naming every requested capability that is not `known`, with the valid names. */
export function checkKnown(names: readonly string[], known: readonly string[]): void {
  const unknown = [...new Set(names)].filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new CapserveError('UNKNOWN_CAPABILITY', `unknown capabilities: ${unknown.join(', ')}`, {
      details: { unknown, valid: [...known].sort() },
    });
  }
}

/**
 * The one check of the capabilities a request names, for /classify, WebSocket, /process and
 * the batcher alike: no name twice, every name known.
 */
export function checkRequested(names: readonly string[], known: readonly string[]): void {
  checkNoDuplicates(names);
  checkKnown(names, known);
}
