import { type JobEvent, type JobPayload, type JobProcessor, type JobQueue, type JobRecord } from '../../jobs/types.js';
import { until } from './until.js';

export function textJob(text: string): JobPayload {
  return { kind: 'text', mediaType: 'text/plain', capabilities: ['classification'], options: {}, text };
}

interface Call {
  readonly text: string;
  readonly jobId: string;
  readonly signal: AbortSignal;
  readonly progress: (fraction: number, stage?: string) => void;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * A recording processor whose calls stay open until the test settles them, so a test decides
 * when each try ends and sees which texts ran in which order.
 */
export class ManualProcessor {
  readonly calls: Call[] = [];
  readonly #waiters: ((call: Call) => void)[] = [];

  readonly processor: JobProcessor = (payload, context) =>
    new Promise((resolve, reject) => {
      const call: Call = { text: payload.text ?? '', ...context, progress: context.progress.bind(context), resolve, reject };
      this.calls.push(call);
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter(call);
    });

  get texts(): string[] {
    return this.calls.map((call) => call.text);
  }

  /** The call number `index` (0-based), once it has started. */
  async call(index: number): Promise<Call> {
    while (this.calls.length <= index) {
      await new Promise<Call>((resolve) => this.#waiters.push(resolve));
    }
    return this.calls[index] as Call;
  }
}

/** Lets pending promise chains and p-queue's scheduling run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Collects a job's events; `done` resolves with all of them at its final event. */
export function collect(queue: JobQueue, id: string): { events: JobEvent[]; done: Promise<JobEvent[]>; unsubscribe: () => void } {
  const events: JobEvent[] = [];
  let unsubscribe = () => {};
  const done = new Promise<JobEvent[]>((resolve) => {
    unsubscribe = queue.subscribe(id, (event) => {
      events.push(event);
      if (event.type !== 'progress') resolve(events);
    });
  });
  return { events, done, unsubscribe };
}

/** Polls `get` until the record satisfies `check` (for the Redis-backed queue, where state changes elsewhere). */
export async function waitForRecord(
  queue: JobQueue,
  id: string,
  check: (record: JobRecord | undefined) => boolean,
  timeoutMs = 10_000,
): Promise<JobRecord | undefined> {
  let last: JobRecord | undefined;
  const reached = await until(
    async () => {
      last = await queue.get(id);
      return check(last) ? { record: last } : undefined;
    },
    { what: () => `job ${id} to reach the expected state (last: ${JSON.stringify(last)})`, timeoutMs, intervalMs: 20 },
  );
  return reached.record;
}

export function codedError(code: string, message = code, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}
