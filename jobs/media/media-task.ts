import { type OcrResult } from '../../models/ocr/types.js';
import { type DeviceRequest } from '../../models/devices/device.js';

/** Work a media worker thread does: the parts of a job that would hold the event loop. */
export type MediaTask =
  | { readonly type: 'pdf-info'; readonly bytes: Uint8Array; readonly maxInflatedBytes: number }
  | { readonly type: 'pdf-text'; readonly bytes: Uint8Array; readonly maxPages: number; readonly maxInflatedBytes: number }
  | { readonly type: 'ocr'; readonly bytes: Uint8Array; readonly mediaType: string; readonly maxPixels: number };

/** What each task answers. */
export interface MediaTaskResults {
  readonly 'pdf-info': { readonly pages: number };
  readonly 'pdf-text': { readonly pages: string[] };
  readonly ocr: OcrResult;
}

export type ToMediaWorker = { readonly type: 'task'; readonly id: number; readonly task: MediaTask } | { readonly type: 'close' };

export type FromMediaWorker =
  | { readonly type: 'progress'; readonly id: number; readonly fraction: number }
  | { readonly type: 'done'; readonly id: number; readonly result: MediaTaskResults[MediaTask['type']] }
  | {
      readonly type: 'failed';
      readonly id: number;
      readonly code: string | undefined;
      readonly message: string;
      readonly details: Readonly<Record<string, unknown>> | undefined;
    };

/** What a media worker thread starts with. */
export interface MediaWorkerData {
  /** Where OCR runs (see models/devices). */
  readonly device: DeviceRequest;
  readonly gpuLock: SharedArrayBuffer;
}
