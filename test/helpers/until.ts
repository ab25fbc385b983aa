/** How long a test waits for something before it fails, and how often a poll looks. */
export interface WaitOptions {
  /** Says what was awaited, in the failure message; a function is read when the wait fails (say, to show a child's output). */
  readonly what: string | (() => string);
  /** @default 10_000 */
  readonly timeoutMs?: number;
}

export interface PollOptions extends WaitOptions {
  /** @default 10 */
  readonly intervalMs?: number;
}

const describe = (what: string | (() => string)): string => (typeof what === 'function' ? what() : what);

/**
 * Polls `probe` until it returns something other than `undefined` or `false`, and resolves with
 * that; fails with `timed out after N ms waiting for <what>` at the deadline. For state that no
 * event announces (another process, a store, a gauge); where an event exists, await it with
 * {@link within} instead. An error thrown by `probe` fails the wait at once: a probe that may
 * fail while the thing starts up (a fetch before the server listens) catches its own error.
 */
export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, options: PollOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe(options.what)}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}

/** `promise`, or a failure that names `what` when it has not settled within `timeoutMs`: a bound on awaiting an event. */
export function within<T>(promise: Promise<T>, options: WaitOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe(options.what)}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
