import { performance } from 'node:perf_hooks';

/** Milliseconds from an arbitrary origin; monotonic. */
export interface Clock {
  now(): number;
}

/** Schedules a callback after a delay; returns a function that cancels it. */
export interface Scheduler {
  schedule(callback: () => void, delayMs: number): () => void;
}

/**
 * The one injectable time shape: every component that reads the clock or sets a timer takes a
 * `time` option of this type, {@link systemTime} by default and a `ManualTime` in unit tests.
 */
export interface Time extends Clock, Scheduler {}

/** Real timers on a monotonic clock; a delay of 0 runs after the current tick (setImmediate), not after setTimeout's 1 ms. */
export const systemTime: Time = {
  now: () => performance.now(),
  schedule(callback, delayMs) {
    if (delayMs <= 0) {
      const immediate = setImmediate(callback);
      return () => clearImmediate(immediate);
    }
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

/** Real timers on the epoch clock (`Date.now`), for components that stamp records people read. */
export const wallTime: Time = { now: () => Date.now(), schedule: systemTime.schedule };

/**
 * Resolves `true` when `work` settles within `graceMs`, `false` when the grace period ends
 * first (the work goes on; the caller decides what to say about it); a rejection of `work` is
 * passed on. Used by every drain.
 */
export async function settlesWithin(work: Promise<unknown>, graceMs: number, time: Scheduler = systemTime): Promise<boolean> {
  let cancel: (() => void) | undefined;
  const expired = new Promise<false>((resolve) => {
    cancel = time.schedule(() => resolve(false), graceMs);
  });
  try {
    return await Promise.race([work.then(() => true), expired]);
  } finally {
    cancel?.();
  }
}
