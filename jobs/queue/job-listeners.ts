import { type JobEvent, type JobRecord } from '../types.js';

type Listener = (event: JobEvent) => void;

/** Whether an event ends its job's stream: after it, subscribers hear nothing more. */
export function isFinalEvent(event: JobEvent): boolean {
  return event.type !== 'progress';
}

/** The event a subscriber to an already finished job gets, or undefined while the job is not finished. */
export function finalEventOf(record: JobRecord): JobEvent | undefined {
  switch (record.status) {
    case 'completed':
      // A completed job whose result was dropped (RESULT_EVICTED) says so instead of sending nothing.
      return record.error === undefined ? { type: 'result', jobId: record.id, result: record.result } : { type: 'failed', jobId: record.id, error: record.error };
    case 'failed':
      return {
        type: 'failed',
        jobId: record.id,
        error: record.error ?? { code: 'INTERNAL_ERROR', message: 'The job failed.' },
      };
    case 'cancelled':
      return { type: 'cancelled', jobId: record.id };
    default:
      return undefined;
  }
}

/**
 * The subscribers of each job. A listener hears at most one final event and is dropped after it,
 * so a final event that arrives twice (from a late subscriber's lookup and from the live stream)
 * is delivered once. A listener that throws is reported to `onError` and never breaks the queue.
 */
export class JobListeners {
  readonly #byJob = new Map<string, Set<Listener>>();
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  add(jobId: string, listener: Listener): () => void {
    // Wrap so the same function subscribed twice is two subscriptions.
    const entry: Listener = (event) => listener(event);
    let set = this.#byJob.get(jobId);
    if (set === undefined) {
      set = new Set();
      this.#byJob.set(jobId, set);
    }
    set.add(entry);
    return () => this.#remove(jobId, entry);
  }

  /** Jobs that have at least one subscriber. */
  get jobIds(): IterableIterator<string> {
    return this.#byJob.keys();
  }

  /** Delivers `event` to every subscriber of its job; a final event also ends their subscriptions. */
  emit(event: JobEvent): void {
    const set = this.#byJob.get(event.jobId);
    if (set === undefined) return;
    if (isFinalEvent(event)) this.#byJob.delete(event.jobId);
    for (const listener of [...set]) this.#call(listener, event);
  }

  clear(): void {
    this.#byJob.clear();
  }

  #remove(jobId: string, entry: Listener): void {
    const set = this.#byJob.get(jobId);
    if (set === undefined) return;
    set.delete(entry);
    if (set.size === 0) this.#byJob.delete(jobId);
  }

  #call(listener: Listener, event: JobEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.#onError(error);
    }
  }
}
