import { type Time } from './time.js';

/** A clock and scheduler that move only when the test says so. */
export class ManualTime implements Time {
  #now = 0;
  #timers: { at: number; callback: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.#now;
  }

  schedule(callback: () => void, delayMs: number): () => void {
    const timer = { at: this.#now + delayMs, callback, cancelled: false };
    this.#timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers that are scheduled and not cancelled. */
  get pending(): number {
    return this.#timers.filter((timer) => !timer.cancelled).length;
  }

  /** Moves the clock and fires every timer that falls due. */
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((timer) => !timer.cancelled && timer.at <= this.#now);
    this.#timers = this.#timers.filter((timer) => !due.includes(timer));
    for (const timer of due) {
      timer.cancelled = true;
      timer.callback();
    }
  }
}
