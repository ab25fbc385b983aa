import { type PaddingStats } from './length-buckets.js';
import { type ModelInfo } from './types.js';

/** Main thread to model worker. */
export type ToWorker = { readonly type: 'run'; readonly id: number; readonly texts: readonly string[] } | { readonly type: 'close' };

/** Model worker to main thread; output buffers are transferred, not copied. */
export type FromWorker =
  | { readonly type: 'ready'; readonly info: ModelInfo; readonly padding?: PaddingStats }
  | { readonly type: 'load-failed'; readonly message: string; readonly code?: string }
  | { readonly type: 'result'; readonly id: number; readonly outputs: Float32Array[]; readonly padding?: PaddingStats }
  | {
      readonly type: 'run-failed';
      readonly id: number;
      readonly message: string;
      /** The registry code of a coded failure (e.g. DEVICE_UNAVAILABLE). */
      readonly code?: string;
      /** The backend can no longer run (its device is lost): the pool must reload this instance. */
      readonly lost?: boolean;
    };
