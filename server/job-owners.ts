import { type Clock, systemTime } from '../core/time.js';

/** Owners remembered at once; past it the oldest are forgotten (their jobs can no longer be followed over the WebSocket). */
const maxOwners = 100_000;

/**
 * Who created each `/process` job, so that WebSocket `subscribe` and `cancel` reach only one's
 * own jobs. An owner is `key:<label>` (the API key that created the job, over HTTP or the
 * WebSocket) or, without keys, `socket:<n>` (the one WebSocket connection that created it).
 * In memory, for `ttlMs` (the finished-job TTL): a job created on another server process, or
 * before a restart, has no owner here and is followed over `GET /jobs/:id` instead.
 */
export class JobOwners {
  readonly #owners = new Map<string, { owner: string; at: number }>();
  readonly #ttlMs: number;
  readonly #clock: Clock;

  constructor(options: { ttlMs?: number; clock?: Clock } = {}) {
    this.#ttlMs = options.ttlMs ?? 3_600_000;
    this.#clock = options.clock ?? systemTime;
  }

  record(jobId: string, owner: string): void {
    if (this.#owners.size >= maxOwners) this.#sweep();
    this.#owners.set(jobId, { owner, at: this.#clock.now() });
  }

  /** Whether `owner` created the job (and it is still remembered). */
  owns(jobId: string, owner: string): boolean {
    const entry = this.#owners.get(jobId);
    if (entry === undefined) return false;
    if (this.#clock.now() - entry.at > this.#ttlMs) {
      this.#owners.delete(jobId);
      return false;
    }
    return entry.owner === owner;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [jobId, entry] of this.#owners) if (now - entry.at > this.#ttlMs) this.#owners.delete(jobId);
    for (const jobId of this.#owners.keys()) {
      if (this.#owners.size < maxOwners) break;
      this.#owners.delete(jobId);
    }
  }
}

let sockets = 0;

/** The owner a request's jobs get: its key's label, or, without keys, undefined over HTTP and a fresh id per WebSocket. */
export function ownerFor(label: string | undefined, kind: 'http' | 'socket'): string | undefined {
  if (label !== undefined) return `key:${label}`;
  if (kind === 'http') return undefined;
  sockets += 1;
  return `socket:${sockets}`;
}
