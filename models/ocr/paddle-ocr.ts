import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CapserveError } from '../../core/errors.js';
import { type Placement } from '../devices/device.js';
import { withGpuLock } from '../devices/gpu-lock.js';
import { ctcCharset, ctcGreedyDecode, type CtcText } from './ctc-decode.js';
import { extractBoxes } from './db-postprocess.js';
import { boundingBox, scaleQuad, sortReadingOrder, type Quad } from './geometry.js';
import {
  cropQuad,
  decodeImage,
  detectionSize,
  detectionTensor,
  lineTensor,
  rotate180,
  type RgbImage,
  type TensorData,
} from './image-tensor.js';
import { declaredClasses, defaultModelDir, ocrLoadError, openSession, PADDLE_OCR_FILES } from './model-files.js';
import { ocrOptionsSchema, type OcrEngine, type OcrLine, type OcrOptions, type OcrOptionsInput, type OcrResult } from './types.js';

export type { OcrEngine, OcrLine, OcrOptionsInput, OcrResult } from './types.js';
export { PADDLE_OCR_FILES } from './model-files.js';
export { ImageDecodeError } from './image-tensor.js';

const LINE_HEIGHT = 48;
/** The classifier's training width; narrower lines are padded to it. */
const CLS_MIN_WIDTH = 192;
/** The recogniser's narrowest batch width; wider lines widen their batch, as in PaddleOCR. */
const REC_MIN_WIDTH = 320;
/** Most lines per classifier/recogniser run (PaddleOCR's default batch size). */
const MAX_BATCH = 6;
/** Widest line of a batch relative to its narrowest. */
const BATCH_WIDTH_SPREAD = 1.25;
const FLIP_THRESHOLD = 0.9;
/** Quads with a side this short (original pixels) are slivers, not text. */
const MIN_SIDE = 3;

/**
 * Loads PaddleOCR PP-OCRv4 (DB detection, 0/180° line classifier, SVTR-LCNet CTC recogniser) on
 * onnxruntime, on `options.device` (cpu by default). The three sessions are created once and reused by every call.
 * Throws MODEL_LOAD_FAILED naming the file when a graph or the dictionary is missing or broken,
 * CONFIG_INVALID for bad options.
 */
export async function loadPaddleOcr(input: OcrOptionsInput = {}): Promise<OcrEngine> {
  const parsed = ocrOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new CapserveError('CONFIG_INVALID', `paddle-ocr options: ${issues}`);
  }
  const options: OcrOptions = Object.freeze(parsed.data);
  const dir = options.modelDir ?? defaultModelDir();

  const dictionaryFile = path.join(dir, PADDLE_OCR_FILES.dictionary);
  let charset: string[];
  try {
    charset = ctcCharset(await readFile(dictionaryFile, 'utf8'));
  } catch (error) {
    throw ocrLoadError(dictionaryFile, 'cannot read the recognition dictionary', error);
  }

  const sessions: ort.InferenceSession[] = [];
  let placement: Placement | undefined;
  try {
    for (const name of [PADDLE_OCR_FILES.detection, PADDLE_OCR_FILES.classifier, PADDLE_OCR_FILES.recognition]) {
      const opened = await openSession(path.join(dir, name), options.intraOpThreads, options.device);
      sessions.push(opened.session);
      // Under `auto` the first graph picks the device and the others follow it, so one engine never spans two.
      placement ??= opened.placement;
      if (options.device === 'auto' && opened.placement.device !== placement.device) {
        throw ocrLoadError(path.join(dir, name), `opened on ${opened.placement.device}, the detector on ${placement.device}`);
      }
    }
    const [detection, classifier, recognition] = sessions as [ort.InferenceSession, ort.InferenceSession, ort.InferenceSession];
    const classes = declaredClasses(recognition);
    if (classes !== undefined && classes !== charset.length) {
      throw ocrLoadError(
        dictionaryFile,
        `the dictionary gives ${charset.length} classes (blank + ${charset.length - 2} characters + space), ` +
          `the recogniser outputs ${classes}`,
      );
    }
    return new PaddleOcr(options, charset, detection, classifier, recognition, placement ?? { device: 'cpu' });
  } catch (error) {
    await Promise.allSettled(sessions.map((s) => s.release()));
    throw error;
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CapserveError('REQUEST_CANCELLED', undefined, { cause: signal.reason });
}

interface ModelOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

interface Detected {
  readonly quad: Quad;
  readonly box: OcrLine['box'];
}

class PaddleOcr implements OcrEngine {
  readonly #options: OcrOptions;
  readonly #charset: readonly string[];
  readonly #detection: ort.InferenceSession;
  readonly #classifier: ort.InferenceSession;
  readonly #recognition: ort.InferenceSession;
  /** Model runs are chained: concurrent runs would only fight over the same intra-op threads. */
  #tail: Promise<unknown> = Promise.resolve();
  /** Calls under way; close() lets them finish before it releases the sessions. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(
    options: OcrOptions,
    charset: readonly string[],
    detection: ort.InferenceSession,
    classifier: ort.InferenceSession,
    recognition: ort.InferenceSession,
    readonly placement: Placement,
  ) {
    this.#options = options;
    this.#charset = charset;
    this.#detection = detection;
    this.#classifier = classifier;
    this.#recognition = recognition;
  }

  async recognize(bytes: Buffer, signal?: AbortSignal): Promise<OcrResult> {
    if (this.#closed) throw new CapserveError('SHUTTING_DOWN', 'the OCR engine is closed');
    const call = this.#recognize(bytes, signal);
    this.#inFlight.add(call);
    try {
      return await call;
    } finally {
      this.#inFlight.delete(call);
    }
  }

  async #recognize(bytes: Buffer, signal: AbortSignal | undefined): Promise<OcrResult> {
    throwIfAborted(signal);
    const started = performance.now();
    const image = await decodeImage(bytes);
    throwIfAborted(signal);

    const detected = await this.#detect(image);
    throwIfAborted(signal);
    let crops = detected.map((d) => cropQuad(image, d.quad));
    if (this.#options.angleClassification && crops.length > 0) {
      crops = await this.#uprightCrops(crops, signal);
    }
    const texts = await this.#recognizeCrops(crops, signal);

    const lines: OcrLine[] = [];
    detected.forEach((d, i) => {
      const decoded = texts[i];
      const text = decoded?.text.trim() ?? '';
      if (decoded === undefined || text === '' || decoded.confidence < this.#options.minConfidence) return;
      lines.push({ text, confidence: decoded.confidence, box: d.box });
    });
    return {
      text: lines.map((l) => l.text).join('\n'),
      lines,
      width: image.width,
      height: image.height,
      durationMs: performance.now() - started,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    await Promise.allSettled([this.#detection.release(), this.#classifier.release(), this.#recognition.release()]);
  }

  /** Text quads in original-image coordinates, in reading order. */
  async #detect(image: RgbImage): Promise<Detected[]> {
    const size = detectionSize(image.width, image.height, this.#options.limitSideLen);
    const map = await this.#run(this.#detection, await detectionTensor(image, size));
    if (map.dims.at(-1) !== size.width || map.dims.at(-2) !== size.height) {
      throw new Error(`the detector returned [${map.dims.join(', ')}] for a ${size.width}×${size.height} input`);
    }
    const boxes = extractBoxes({ data: map.data, width: size.width, height: size.height }, this.#options);
    const detected: Detected[] = [];
    for (const { quad } of boxes) {
      const scaled = scaleQuad(quad, image.width / size.width, image.height / size.height, image.width, image.height);
      const [tl, tr, , bl] = scaled;
      if (Math.hypot(tr.x - tl.x, tr.y - tl.y) <= MIN_SIDE || Math.hypot(bl.x - tl.x, bl.y - tl.y) <= MIN_SIDE) continue;
      detected.push({ quad: scaled, box: boundingBox(scaled, image.width, image.height) });
    }
    return sortReadingOrder(detected, (d) => d.box);
  }

  /**
   * Turns lines the classifier reads as upside down (confidently) the right way up. Unlike
   * PaddleOCR, which squeezes every line into 192 pixels, lines keep their aspect ratio: the
   * classifier pools globally, and a long line squeezed five-fold is often read as flipped.
   */
  async #uprightCrops(crops: readonly RgbImage[], signal: AbortSignal | undefined): Promise<RgbImage[]> {
    const out = [...crops];
    await this.#inBatches(crops, CLS_MIN_WIDTH, this.#classifier, signal, (output, indices) => {
      indices.forEach((original, n) => {
        // Labels are ["0", "180"], softmax probabilities per row.
        if ((output.data[n * 2 + 1] ?? 0) > FLIP_THRESHOLD) out[original] = rotate180(crops[original]!);
      });
    });
    return out;
  }

  async #recognizeCrops(crops: readonly RgbImage[], signal: AbortSignal | undefined): Promise<CtcText[]> {
    const results: CtcText[] = new Array(crops.length);
    const classes = this.#charset.length;
    await this.#inBatches(crops, REC_MIN_WIDTH, this.#recognition, signal, (output, indices) => {
      const [, steps = 0, outClasses] = output.dims;
      if (outClasses !== classes) throw new Error(`the recogniser returned ${outClasses} classes, the dictionary has ${classes}`);
      indices.forEach((original, n) => {
        results[original] = ctcGreedyDecode(output.data, steps, this.#charset, n * steps * classes);
      });
    });
    return results;
  }

  /**
   * Runs lines through a line model in batches of similar width, so that each batch pads little:
   * lines sorted by aspect ratio join a batch while they need at most 1.25× the width of its
   * first line (on CPU, padded columns cost as much as real ones, so PaddleOCR's fixed batches of
   * six mixed widths were slower than single lines). A line is 48 pixels tall and at least
   * `minWidth` wide. `handle` gets each output with the crops' original indices.
   */
  async #inBatches(
    crops: readonly RgbImage[],
    minWidth: number,
    session: ort.InferenceSession,
    signal: AbortSignal | undefined,
    handle: (output: ModelOutput, indices: readonly number[]) => void,
  ): Promise<void> {
    const widthOf = (i: number): number => Math.max(minWidth, Math.ceil((LINE_HEIGHT * crops[i]!.width) / crops[i]!.height));
    const order = crops.map((_, i) => i).sort((a, b) => widthOf(a) - widthOf(b));
    let start = 0;
    while (start < order.length) {
      throwIfAborted(signal);
      const first = widthOf(order[start]!);
      let end = start + 1;
      while (end < order.length && end - start < MAX_BATCH && widthOf(order[end]!) <= first * BATCH_WIDTH_SPREAD) end++;
      const indices = order.slice(start, end);
      const width = widthOf(order[end - 1]!);
      handle(await this.#run(session, lineTensor(indices.map((i) => crops[i]!), LINE_HEIGHT, width)), indices);
      start = end;
    }
  }

  /** One exclusive run of a single-input, single-output graph; returns a copy of the output. */
  async #run(session: ort.InferenceSession, input: TensorData): Promise<ModelOutput> {
    const run = this.#tail.then(async () => {
      const feeds = { [session.inputNames[0] ?? 'x']: new ort.Tensor('float32', input.data, [...input.dims]) };
      const outputName = session.outputNames[0] ?? '';
      const results = await (this.placement.device === 'webgpu' ? withGpuLock(() => session.run(feeds, [outputName])) : session.run(feeds, [outputName]));
      const output = results[outputName];
      if (output === undefined) throw new Error(`the graph returned no "${outputName}"`);
      try {
        if (!(output.data instanceof Float32Array)) throw new Error(`the graph returned ${output.type}, not float32`);
        return { data: output.data.slice(), dims: output.dims };
      } finally {
        output.dispose();
      }
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
