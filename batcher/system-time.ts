import { performance } from 'node:perf_hooks';
import { type Clock, type Scheduler } from './types.js';

/** Real timers; a delay of 0 runs after the current tick (setImmediate), not after setTimeout's 1 ms. */
export const timerScheduler: Scheduler = {
  schedule(callback, delayMs) {
    if (delayMs <= 0) {
      const immediate = setImmediate(callback);
      return () => clearImmediate(immediate);
    }
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

/** Monotonic wall clock in milliseconds. */
export const systemClock: Clock = { now: () => performance.now() };
