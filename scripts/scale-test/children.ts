import { type ChildProcess, spawn } from 'node:child_process';

/** A process the scale test started, with the tail of its output for failure messages. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** The last {@link OUTPUT_TAIL_CHARS} characters of its stdout and stderr. */
  output(): string;
  /** Resolves with its exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Whether it is still running. */
  alive(): boolean;
}

const OUTPUT_TAIL_CHARS = 16_384;

/**
 * Every process the scale test starts, so that all of them die with it: on a normal end
 * ({@link Children.stopAll}), on an exception, on Ctrl-C and on `process.exit`. A leftover
 * server would hold its port and a Redis connection after a failed run.
 */
export class Children {
  readonly #running = new Set<Child>();
  readonly #killAll = (): void => {
    for (const child of this.#running) child.process.kill('SIGKILL');
  };
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    this.#killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  constructor() {
    // 'exit' handlers run synchronously, and kill() is synchronous: nothing survives the script.
    process.on('exit', this.#killAll);
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
  }

  /** Starts `command` with `env` added to this process's environment. */
  spawn(name: string, command: string, args: readonly string[], options: { readonly env?: Record<string, string>; readonly cwd?: string } = {}): Child {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const record: Child = {
      name,
      process: child,
      output: () => tail,
      exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal))),
      alive: () => child.exitCode === null && child.signalCode === null,
    };
    // A spawn failure (a missing binary) ends the record as an exit would, instead of throwing later.
    child.once('error', (error) => {
      keep(Buffer.from(`\nspawn failed: ${error.message}\n`));
      child.emit('exit', 127, null);
    });
    this.#running.add(record);
    void record.exited.then(() => this.#running.delete(record));
    return record;
  }

  /** SIGTERM to each child still running, SIGKILL to those still running after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    const children = [...this.#running];
    for (const child of children) child.process.kill('SIGTERM');
    const timer = setTimeout(this.#killAll, graceMs);
    await Promise.all(children.map((child) => child.exited));
    clearTimeout(timer);
  }

  /** Stops watching this process's exit and signals (after {@link stopAll}). */
  detach(): void {
    process.off('exit', this.#killAll);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }
}

/**
 * Polls `probe` until it returns something other than `undefined` or `false`; fails naming
 * `what` after `timeoutMs`. For state in another process (a port, a Redis key, HAProxy's view).
 */
export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string | (() => string), timeoutMs = 30_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
