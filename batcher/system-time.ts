import { performance } from 'node:perf_hooks';
import { type Clock, type Scheduler } from './types.js';

/** Real timers. */
export const timerScheduler: Scheduler = {
  schedule(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

/** Monotonic wall clock in milliseconds. */
export const systemClock: Clock = { now: () => performance.now() };
