import PQueue from 'p-queue';
import { asCapserveError } from '../core/errors.js';
import { type Clock, systemTime } from '../core/time.js';
import { type ModelBackend, type RunOptions } from './types.js';

interface Call {
  readonly texts: readonly string[];
  readonly signal: AbortSignal | undefined;
  readonly resolve: (outputs: Float32Array[]) => void;
  readonly reject: (error: unknown) => void;
  /** Dispatched in a group, or withdrawn: either way its own turn has nothing left to do. */
  taken: boolean;
  /** Stops watching the signal once the call has left the queue. */
  detach: () => void;
}

/** One backend call as the instance made it: merged texts, how long the model took, and whether it answered. */
export interface BackendCall {
  readonly backend: ModelBackend;
  readonly texts: number;
  readonly durationMs: number;
  readonly ok: boolean;
}

/** Told of every backend call; it must not throw. Carries the timings up without the models layer knowing who reads them. */
export type BackendCallObserver = (call: BackendCall) => void;

export interface InstanceStats {
  /** Backend calls made. */
  readonly calls: number;
  /** Texts over those calls. */
  readonly texts: number;
}

/**
 * Serialises calls into one model instance with p-queue, and merges calls that queued up while
 * the instance was busy into one backend call of at most `maxCallTexts` texts: small batches
 * that reach a busy model (several batches in flight, a bounded window that closed early) still
 * run as one large call. A merged call that fails is retried call by call, so one request's bad
 * input never fails another's.
 *
 * Cancellation reaches the queue, not the model: a call whose signal aborts while it waits is
 * withdrawn, so the merged call that follows carries only the texts of calls still live. Once a
 * call is dispatched it runs to the end; its signal no longer matters (the backend gets none, as
 * a merged call serves several callers and no one caller may stop it).
 */
export class InstanceRunner {
  #backend: ModelBackend;
  readonly #maxCallTexts: number;
  readonly #queue = new PQueue({ concurrency: 1 });
  readonly #waiting: Call[] = [];
  #calls = 0;
  #texts = 0;
  /** Calls in the group now running. */
  #active = 0;
  /** Texts of the group now running. */
  #activeTexts = 0;
  readonly #onCall: BackendCallObserver | undefined;
  readonly #time: Clock;

  constructor(backend: ModelBackend, maxCallTexts: number, observe: { readonly onCall?: BackendCallObserver; readonly time?: Clock } = {}) {
    this.#backend = backend;
    this.#maxCallTexts = Math.max(1, maxCallTexts);
    this.#onCall = observe.onCall;
    this.#time = observe.time ?? systemTime;
  }

  get backend(): ModelBackend {
    return this.#backend;
  }

  /** Whether the backend can still run (a worker thread that died cannot). */
  get alive(): boolean {
    return this.#backend.alive?.() ?? true;
  }

  /** Puts a freshly loaded backend in place of a dead one; queued calls run on it. */
  replaceBackend(backend: ModelBackend): void {
    this.#backend = backend;
  }

  /** Calls waiting or running. */
  get depth(): number {
    return this.#waiting.length + this.#active;
  }

  /** Texts waiting or running: the work a new call queues behind. */
  get backlogTexts(): number {
    return this.#waiting.reduce((sum, call) => sum + call.texts.length, this.#activeTexts);
  }

  stats(): InstanceStats {
    return { calls: this.#calls, texts: this.#texts };
  }

  /**
   * Runs texts on the instance, merged with calls that queue up meanwhile. A call whose
   * `signal` aborts before it is dispatched leaves the queue and rejects with the abort reason
   * (REQUEST_CANCELLED unless it is already a coded error). A call already running in the model
   * is not interrupted: it runs to the end and resolves as usual.
   */
  run(texts: readonly string[], options: RunOptions = {}): Promise<Float32Array[]> {
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(asCapserveError(signal.reason, 'REQUEST_CANCELLED'));
    return new Promise<Float32Array[]>((resolve, reject) => {
      const call: Call = { texts, signal, resolve, reject, taken: false, detach: () => {} };
      if (signal !== undefined) {
        const withdraw = (): void => this.#withdraw(call);
        signal.addEventListener('abort', withdraw, { once: true });
        call.detach = () => signal.removeEventListener('abort', withdraw);
      }
      this.#waiting.push(call);
      // Each call has its turn; a call another turn already took makes its own turn a no-op.
      void this.#queue.add(() => this.#turn(call));
    });
  }

  /** Takes an aborted call out of the queue before any turn dispatches it. */
  #withdraw(call: Call): void {
    if (call.taken) return;
    call.taken = true;
    this.#waiting.splice(this.#waiting.indexOf(call), 1);
    call.reject(asCapserveError(call.signal?.reason, 'REQUEST_CANCELLED'));
  }

  onIdle(): Promise<void> {
    return this.#queue.onIdle();
  }

  async #turn(own: Call): Promise<void> {
    if (own.taken) return;
    const group: Call[] = [];
    let size = 0;
    for (const call of [own, ...this.#waiting.filter((c) => c !== own)]) {
      if (call.taken || (group.length > 0 && size + call.texts.length > this.#maxCallTexts)) continue;
      call.taken = true;
      group.push(call);
      size += call.texts.length;
    }
    for (const call of group) {
      this.#waiting.splice(this.#waiting.indexOf(call), 1);
      call.detach();
    }
    this.#active = group.length;
    this.#activeTexts = size;
    try {
      const outputs = await this.#call(group.flatMap((call) => call.texts));
      let offset = 0;
      for (const call of group) {
        call.resolve(outputs.slice(offset, offset + call.texts.length));
        offset += call.texts.length;
      }
    } catch (error) {
      if (group.length === 1) {
        own.reject(error);
        return;
      }
      for (const call of group) {
        // The retries run one after another: a caller that gave up meanwhile is not retried.
        if (call.signal?.aborted === true) {
          call.reject(asCapserveError(call.signal.reason, 'REQUEST_CANCELLED'));
          continue;
        }
        try {
          call.resolve(await this.#call(call.texts));
        } catch (single) {
          call.reject(single);
        }
      }
    } finally {
      this.#active = 0;
      this.#activeTexts = 0;
    }
  }

  async #call(texts: readonly string[]): Promise<Float32Array[]> {
    this.#calls += 1;
    this.#texts += texts.length;
    const backend = this.#backend;
    const began = this.#time.now();
    let ok = false;
    try {
      const outputs = await backend.run(texts);
      if (outputs.length !== texts.length) throw new Error(`model "${backend.info.name}" returned ${outputs.length} outputs for ${texts.length} texts`);
      ok = true;
      return outputs;
    } finally {
      this.#onCall?.({ backend, texts: texts.length, durationMs: this.#time.now() - began, ok });
    }
  }
}
