import { type ErrorCode } from '../../core/errors.js';
import { type SpeechRecognizer } from './types.js';

/** Transcription as it stands: a loaded recognizer, or why there is none. */
export interface SpeechState {
  readonly recognizer?: SpeechRecognizer;
  /** Seconds of audio per recognizer call. @default 30 */
  readonly chunkSeconds?: number;
  /** Why transcription is unavailable (no `speech` section, or its backend did not load). */
  readonly unavailable?: string;
  /** The load error's code when a configured backend did not load; absent when none is configured. */
  readonly code?: ErrorCode;
}

/** One transcription's hold on a recognizer: the state it took, kept until `release()`. */
export interface SpeechUse {
  readonly speech: SpeechState;
  /** Ends the use; the recognizer, if replaced meanwhile, is closed after its last use. Idempotent. */
  release(): void;
}

interface Entry {
  readonly state: SpeechState;
  /** What the state was loaded from (see `speechKey`), to tell whether a reload changes it. */
  readonly key: string | undefined;
  uses: number;
  retired: boolean;
  closing: boolean;
  /** Settles once the recognizer is closed. */
  readonly closed: Promise<void>;
  readonly settle: () => void;
}

function entryOf(state: SpeechState, key: string | undefined): Entry {
  let settle: () => void = () => {};
  const closed = new Promise<void>((resolve) => (settle = resolve));
  return { state, key, uses: 0, retired: false, closing: false, closed, settle };
}

/**
 * The speech-to-text recognizer this process transcribes with, replaceable while it runs (a
 * capabilities reload). Each transcription takes the current one with `acquire()` and keeps it
 * to the end, so a replacement never changes a recognizer under a running job: the replaced
 * one is closed only once its last use is released (reference counting, as the batcher lets
 * batches in flight finish on the old registry).
 */
export class SpeechHolder {
  #entry: Entry;
  readonly #retired = new Set<Entry>();
  readonly #onCloseError: (error: unknown) => void;
  #closed = false;

  /** `key`: what `state` was loaded from; `onCloseError`: told when closing a replaced recognizer fails. */
  constructor(state: SpeechState, options: { readonly key?: string; readonly onCloseError?: (error: unknown) => void } = {}) {
    this.#entry = entryOf(state, options.key);
    this.#onCloseError = options.onCloseError ?? (() => {});
  }

  /** Transcription now: what routing and the worker registry advertise. */
  current(): SpeechState {
    return this.#entry.state;
  }

  /** The key the current state was loaded from; undefined when not known. */
  get key(): string | undefined {
    return this.#entry.key;
  }

  /** Transcriptions running on each recognizer, the current one first; for tests and logs. */
  uses(): number[] {
    return [this.#entry.uses, ...[...this.#retired].map((entry) => entry.uses)];
  }

  /** Takes the current state for one transcription; call `release()` when it has ended, however it ended. */
  acquire(): SpeechUse {
    const entry = this.#entry;
    entry.uses += 1;
    let released = false;
    return {
      speech: entry.state,
      release: () => {
        if (released) return;
        released = true;
        entry.uses -= 1;
        if (entry.retired && entry.uses === 0) void this.#closeEntry(entry);
      },
    };
  }

  /**
   * Makes `state` current. New transcriptions take it at once; the replaced recognizer is
   * closed when its running transcriptions have released it (at once when none runs).
   * `closed` settles then; the caller need not wait for it. After `close()` (a reload that
   * finished during shutdown) the new recognizer is closed instead, so none is left open.
   */
  replace(state: SpeechState, key: string | undefined): { readonly closed: Promise<void> } {
    if (this.#closed) {
      const late = entryOf(state, key);
      return { closed: this.#closeEntry(late).then(() => late.closed) };
    }
    const previous = this.#entry;
    this.#entry = entryOf(state, key);
    previous.retired = true;
    this.#retired.add(previous);
    if (previous.uses === 0) void this.#closeEntry(previous);
    return { closed: previous.closed };
  }

  /** Closes every recognizer now, current and replaced: running transcriptions reject (shutdown, after the jobs' grace). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#entry.retired = true;
    await Promise.all([this.#entry, ...this.#retired].map((entry) => this.#closeEntry(entry)));
  }

  async #closeEntry(entry: Entry): Promise<void> {
    if (entry.closing) return entry.closed;
    entry.closing = true;
    try {
      await entry.state.recognizer?.close();
    } catch (error) {
      this.#onCloseError(error);
    } finally {
      this.#retired.delete(entry);
      entry.settle();
    }
  }
}
