import { asCapserveError } from '../core/errors.js';
import { RequestTrace } from './batch-tracing.js';
import { type BatchReply, type BatchRequest, type RequestPriority } from './types.js';

/**
 * A request waiting in a window or running in a batch. It settles exactly once: with its reply,
 * or rejected when cancelled; later attempts are ignored, so a cancelled request is never answered twice.
 */
export class QueuedRequest {
  readonly request: BatchRequest;
  /** Requested capabilities, deduplicated, in request order. */
  readonly capabilities: readonly string[];
  /** Requested capabilities plus their transitive dependencies. */
  readonly closure: ReadonlySet<string>;
  readonly enqueuedAt: number;
  /** Estimated tokens of its texts, for the window's token budget. */
  readonly tokens: number;
  readonly priority: RequestPriority;
  /** Its trace context (where it was submitted) and its `queue wait` span. */
  readonly trace: RequestTrace;
  readonly promise: Promise<BatchReply>;
  #resolve!: (reply: BatchReply) => void;
  #reject!: (error: unknown) => void;
  #settled = false;
  #detach: () => void = () => {};

  constructor(request: BatchRequest, closure: readonly string[], enqueuedAt: number, tokens = 0) {
    this.request = request;
    this.capabilities = [...new Set(request.capabilities)];
    this.closure = new Set(closure);
    this.enqueuedAt = enqueuedAt;
    this.tokens = tokens;
    this.priority = request.priority ?? 'normal';
    this.trace = new RequestTrace(request.texts.length);
    this.promise = new Promise<BatchReply>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Calls `onCancel` once if the request's signal aborts before it settles. */
  watchAbort(onCancel: () => void): void {
    const signal = this.request.signal;
    if (signal === undefined) return;
    const listener = (): void => {
      if (this.#settled) return;
      onCancel();
      // A deadline aborts with its own coded error; anything else is a cancellation.
      const reason: unknown = signal.reason;
      this.reject(asCapserveError(reason, 'REQUEST_CANCELLED'));
    };
    signal.addEventListener('abort', listener, { once: true });
    this.#detach = () => signal.removeEventListener('abort', listener);
  }

  resolve(reply: BatchReply): void {
    if (!this.#settle()) return;
    this.trace.left();
    this.#resolve(reply);
  }

  reject(error: unknown): void {
    if (!this.#settle()) return;
    this.trace.left(error);
    this.#reject(error);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#detach();
    return true;
  }
}
