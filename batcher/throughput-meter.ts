import { type Clock } from '../core/time.js';

/** Texts finished per second over a sliding window, for Retry-After estimates. */
export class ThroughputMeter {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #events: { at: number; texts: number }[] = [];

  constructor(options: { readonly time: Clock; readonly windowMs?: number }) {
    this.#clock = options.time;
    this.#windowMs = options.windowMs ?? 10_000;
  }

  record(texts: number): void {
    this.#events.push({ at: this.#clock.now(), texts });
    this.#trim();
  }

  /** Texts per second over the window; 0 before anything finished in it. */
  textsPerSecond(): number {
    this.#trim();
    const first = this.#events[0];
    if (first === undefined) return 0;
    const span = Math.max(1000, this.#clock.now() - first.at);
    return (this.#events.reduce((sum, e) => sum + e.texts, 0) * 1000) / span;
  }

  #trim(): void {
    const cutoff = this.#clock.now() - this.#windowMs;
    while (this.#events.length > 0 && (this.#events[0]?.at ?? 0) < cutoff) this.#events.shift();
  }
}
