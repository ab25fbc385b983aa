export type BatchMode = 'adaptive' | 'fixed';

/** Which requests go into the next batch first when more are waiting than fit (adaptive mode). */
export type RequestPriority = 'high' | 'normal' | 'low';

export interface BatcherOptions {
  /**
   * The longest a request waits for its window to close. In `fixed` mode every window stays
   * open this long after its first request. @default 10
   */
  readonly windowMs: number;
  /** A window closes at once when it holds this many texts. @default 64 */
  readonly maxBatchTexts: number;
  /** A window closes at once when its texts hold this many (estimated) tokens. @default 16384 */
  readonly maxBatchTokens?: number;
  /**
   * `adaptive`: a window is dispatched at once (after the current tick) while fewer than
   * `maxConcurrentBatches` batches run, and grows while they are all busy, until one finishes,
   * it is full, or `windowMs` passes. `fixed`: always wait `windowMs`. @default "adaptive"
   */
  readonly mode?: BatchMode;
  /** Batches running at once before new requests wait (adaptive mode). @default 2 */
  readonly maxConcurrentBatches?: number;
  /** A capability run that takes longer fails with CAPABILITY_TIMEOUT for the requests that need it. @default 60000 */
  readonly capabilityTimeoutMs?: number;
  /** A waiting request moves up one priority level per this many ms, so low never starves. @default 1000 */
  readonly priorityAgeMs?: number;
}

/** One capability result for one text of a request, as soon as the batch has it. */
export interface ResultEvent {
  readonly capability: string;
  /** Index of the text in the request. */
  readonly index: number;
  readonly result: unknown;
}

/** A capability the request asked for that could not be computed for it. */
export interface CapabilityFailure {
  readonly capability: string;
  readonly code: 'CAPABILITY_FAILED' | 'DEPENDENCY_FAILED' | 'CAPABILITY_BAD_OUTPUT' | 'CAPABILITY_TIMEOUT' | 'DEVICE_UNAVAILABLE';
  readonly message: string;
}

export interface BatchRequest {
  readonly texts: readonly string[];
  /** Registered capability names; duplicates are ignored. */
  readonly capabilities: readonly string[];
  /** Aborting removes the request from a batch that has not started and rejects it. */
  readonly signal?: AbortSignal;
  /** Called once per text and requested capability as soon as that capability finishes. */
  readonly onResult?: (event: ResultEvent) => void;
  /** @default "normal" */
  readonly priority?: RequestPriority;
}

export interface BatchInfo {
  readonly id: number;
  /** Distinct texts computed in the batch. */
  readonly texts: number;
  readonly requests: number;
  /** How long this request waited for its window to close. */
  readonly waitedMs: number;
}

export interface BatchReply {
  /** One object per input text, keyed by requested capability; failed capabilities are absent. */
  readonly results: Record<string, unknown>[];
  /** Empty when every requested capability succeeded. */
  readonly failures: readonly CapabilityFailure[];
  readonly batch: BatchInfo;
}

/** What the engine tells stats and metrics. Every method is optional. */
export interface BatchObserver {
  batchStarted?(event: { id: number; requests: number; texts: number; uniqueTexts: number }): void;
  capabilityFinished?(event: {
    batchId: number;
    capability: string;
    texts: number;
    durationMs: number;
    ok: boolean;
  }): void;
  /** `capabilities`: distinct capabilities the batch needed, the fewest executions it could take. */
  batchFinished?(event: { id: number; executions: number; capabilities: number; naiveExecutions: number; durationMs: number }): void;
  requestFinished?(event: { texts: number; waitedMs: number; ok: boolean }): void;
}
