import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CapserveError } from '../core/errors.js';

/** What a key may do: `read` serves (classify, process, jobs, protocol routes); `admin` also changes the server. */
export const keyRoles = ['read', 'admin'] as const;
export type KeyRole = (typeof keyRoles)[number];

/** A verified key: its label (the rate-limit identity and the audit actor) and its role. Never the key. */
export interface KeyIdentity {
  readonly label: string;
  readonly role: KeyRole;
}

/** One API_KEYS entry, parsed. */
export interface ApiKeyEntry extends KeyIdentity {
  readonly key: string;
}

interface KnownKey extends KeyIdentity {
  readonly digest: Buffer;
}

/**
 * The accepted API keys, kept only as SHA-256 digests with their label and role: a presented
 * key is hashed and compared with every digest in constant time, so neither timing nor a heap
 * dump gives a key away.
 */
export class ApiKeys {
  readonly #known: readonly KnownKey[];

  /** Entries as API_KEYS writes them (`label:role:key`, or a bare key: admin, labelled `key-<n>`), or parsed. */
  constructor(keys: readonly (string | ApiKeyEntry)[]) {
    this.#known = keys.map((entry, index) => {
      const { label, role, key } = typeof entry === 'string' ? parseKeyEntry(entry, index) : entry;
      return { label, role, digest: digest(key) };
    });
  }

  get enabled(): boolean {
    return this.#known.length > 0;
  }

  /** Whether `key` is one of the keys; every digest is compared, whichever matches. */
  accepts(key: string): boolean {
    return this.#match(key) !== undefined;
  }

  /**
   * The identity of the request's bearer key: undefined while no keys are configured;
   * UNAUTHORIZED without a bearer key and FORBIDDEN with a wrong one.
   */
  check(authorization: string | undefined): KeyIdentity | undefined {
    if (!this.enabled) return undefined;
    const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (key === undefined) throw new CapserveError('UNAUTHORIZED', 'send an API key: "Authorization: Bearer <key>"');
    const known = this.#match(key);
    if (known === undefined) throw new CapserveError('FORBIDDEN', 'the API key is not valid');
    return { label: known.label, role: known.role };
  }

  #match(key: string): KnownKey | undefined {
    const presented = digest(key);
    let found: KnownKey | undefined;
    for (const known of this.#known) {
      // No early exit: the time taken does not say which key, or whether any, matched.
      if (timingSafeEqual(known.digest, presented) && found === undefined) found = known;
    }
    return found;
  }
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** `label:role:key`; a label is letters, digits, ".", "_" and "-". */
const labelled = /^([A-Za-z0-9._-]{1,64}):(read|admin):(.*)$/;

/**
 * One API_KEYS entry: `label:role:key`, or a bare key, which keeps the format before roles
 * working as an admin key labelled `key-<position>`. Keys are at least 16 characters without
 * spaces; a problem names the entry's position, never the key.
 */
export function parseKeyEntry(entry: string, index: number): ApiKeyEntry {
  const match = labelled.exec(entry);
  const [label, role, key] = match === null ? [`key-${index + 1}`, 'admin' as const, entry] : [match[1] ?? '', match[2] as KeyRole, match[3] ?? ''];
  if (key.length < 16 || /\s/.test(key)) {
    throw new CapserveError('CONFIG_INVALID', `API_KEYS: key ${index + 1} is shorter than 16 characters or contains spaces`);
  }
  return { label, role, key };
}

/**
 * Entries from API_KEYS: a comma-separated list, or `file:<path>` naming a file with one entry
 * per line (blank lines and `#` comments ignored). Each is `label:role:key` or a bare key (see
 * `parseKeyEntry`); labels are unique.
 */
export function parseApiKeys(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  let raw: string[];
  if (value.startsWith('file:')) {
    const file = value.slice('file:'.length);
    try {
      raw = readFileSync(file, 'utf8').split('\n');
    } catch (error) {
      // The error's own text repeats the path; the code (ENOENT, EACCES) is what helps.
      throw new CapserveError('CONFIG_INVALID', `API_KEYS: cannot read the key file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  } else {
    raw = value.split(',');
  }
  const entries = raw.map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  const labels = new Set<string>();
  entries.forEach((entry, index) => {
    const { label } = parseKeyEntry(entry, index);
    if (labels.has(label)) throw new CapserveError('CONFIG_INVALID', `API_KEYS: label "${label}" is used by more than one key`);
    labels.add(label);
  });
  return entries;
}
