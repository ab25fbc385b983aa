import { CapserveError } from '../core/errors.js';
import { type Clock, systemTime } from '../core/time.js';

/** Addresses tracked at once; past it, expired windows are swept, and if none expired the oldest go. */
const maxTracked = 100_000;

/**
 * Failed authentications per client address in fixed one-minute windows. Once an address has
 * failed `limit` times in its window, every request from it is refused with RATE_LIMITED until
 * the window ends, a valid key included: answering a right guess differently would tell the
 * guesser it was right.
 */
export class AuthFailures {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(limit: number, options: { windowMs?: number; clock?: Clock } = {}) {
    this.#limit = limit;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#clock = options.clock ?? systemTime;
  }

  /** Throws RATE_LIMITED while `address` is over the limit. */
  check(address: string): void {
    if (this.#limit === 0) return;
    const window = this.#current(address);
    if (window === undefined || window.failures < this.#limit) return;
    const retryAfterSeconds = Math.max(1, Math.ceil((window.start + this.#windowMs - this.#clock.now()) / 1000));
    throw new CapserveError('RATE_LIMITED', `more than ${this.#limit} failed authentications from this address in a minute; retry in ${retryAfterSeconds} s`, {
      details: { retryAfterSeconds, limit: this.#limit },
    });
  }

  /** Counts one failed authentication from `address`. */
  fail(address: string): void {
    if (this.#limit === 0) return;
    const window = this.#current(address);
    if (window !== undefined) {
      window.failures += 1;
      return;
    }
    if (this.#windows.size >= maxTracked) this.#sweep();
    this.#windows.set(address, { start: this.#clock.now(), failures: 1 });
  }

  #current(address: string): { start: number; failures: number } | undefined {
    const window = this.#windows.get(address);
    if (window === undefined) return undefined;
    if (this.#clock.now() - window.start < this.#windowMs) return window;
    this.#windows.delete(address);
    return undefined;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [address, window] of this.#windows) if (now - window.start >= this.#windowMs) this.#windows.delete(address);
    // Map order is insertion order: the oldest windows go first.
    for (const address of this.#windows.keys()) {
      if (this.#windows.size < maxTracked) break;
      this.#windows.delete(address);
    }
  }
}
