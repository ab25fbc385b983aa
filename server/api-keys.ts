import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CapserveError } from '../core/errors.js';

/**
 * The accepted API keys, kept only as SHA-256 digests: a presented key is hashed and compared
 * with every digest in constant time, so neither timing nor a heap dump gives a key away.
 */
export class ApiKeys {
  readonly #digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.#digests.length > 0;
  }

  /** Whether `key` is one of the keys; every digest is compared, whichever matches. */
  accepts(key: string): boolean {
    const presented = digest(key);
    let match = false;
    for (const known of this.#digests) match = timingSafeEqual(known, presented) || match;
    return match;
  }

  /** Throws UNAUTHORIZED without a bearer key and FORBIDDEN with a wrong one. */
  check(authorization: string | undefined): void {
    if (!this.enabled) return;
    const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (key === undefined) throw new CapserveError('UNAUTHORIZED', 'send an API key: "Authorization: Bearer <key>"');
    if (!this.accepts(key)) throw new CapserveError('FORBIDDEN', 'the API key is not valid');
  }
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/**
 * Keys from API_KEYS: a comma-separated list, or `file:<path>` naming a file with one key per
 * line (blank lines and `#` comments ignored). Keys are at least 16 characters.
 */
export function parseApiKeys(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  let raw: string[];
  if (value.startsWith('file:')) {
    const file = value.slice('file:'.length);
    try {
      raw = readFileSync(file, 'utf8').split('\n');
    } catch (error) {
      throw new CapserveError('CONFIG_INVALID', `API_KEYS: cannot read ${file}: ${(error as Error).message}`);
    }
  } else {
    raw = value.split(',');
  }
  const keys = raw.map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  const short = keys.findIndex((key) => key.length < 16 || /\s/.test(key));
  // The key itself is never echoed, only its position.
  if (short !== -1) throw new CapserveError('CONFIG_INVALID', `API_KEYS: key ${short + 1} is shorter than 16 characters or contains spaces`);
  return keys;
}
