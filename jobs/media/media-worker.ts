/**
 * The body of a media worker thread: PDF text (pdf.js), image decoding and the OCR pipeline's
 * pixel loops run here, one task at a time, so the server's event loop stays free for HTTP.
 * The OCR engine loads on the first image and stays resident. Limits are checked again here
 * (a job from Redis may come from a server with other limits) before anything is decoded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CapserveError, messageOf } from '../../core/errors.js';
import { adoptGpuLock } from '../../models/devices/gpu-lock.js';
import { ImageDecodeError, loadPaddleOcr, type OcrEngine } from '../../models/ocr/paddle-ocr.js';
import { imageSize } from './image-size.js';
import { type FromMediaWorker, type MediaTask, type MediaTaskResults, type MediaWorkerData, type ToMediaWorker } from './media-task.js';
import { checkImagePixels } from './media-limits.js';
import { pdfInfo, pdfText } from './pdf.js';

const port = parentPort;
if (port === null) throw new Error('media-worker.ts runs as a worker thread');
const { device, gpuLock } = workerData as MediaWorkerData;
adoptGpuLock(gpuLock);
const send = (message: FromMediaWorker): void => port.postMessage(message);

let ocr: Promise<OcrEngine> | undefined;
const ocrEngine = (): Promise<OcrEngine> => {
  ocr ??= loadPaddleOcr({ device }).catch((error: unknown) => {
    ocr = undefined;
    throw error;
  });
  return ocr;
};

async function perform(id: number, task: MediaTask): Promise<MediaTaskResults[MediaTask['type']]> {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  switch (task.type) {
    case 'pdf-info':
      return pdfInfo(bytes, { maxInflatedBytes: task.maxInflatedBytes });
    case 'pdf-text':
      return pdfText(bytes, {
        pageLimit: task.maxPages,
        maxInflatedBytes: task.maxInflatedBytes,
        onPage: (read, of) => send({ type: 'progress', id, fraction: read / of }),
      });
    case 'ocr': {
      checkImagePixels(await imageSize(bytes), task.maxPixels);
      const engine = await ocrEngine();
      return engine.recognize(bytes).catch((error: unknown) => {
        if (!(error instanceof ImageDecodeError)) throw error;
        throw new CapserveError('UNSUPPORTED_MEDIA', `${task.mediaType} cannot be read for OCR (${error.message}); send PNG, JPEG, WebP, GIF, TIFF or AVIF`);
      });
    }
  }
}

port.on('message', (message: ToMediaWorker) => {
  if (message.type === 'close') {
    void (ocr ?? Promise.resolve(undefined))
      .then((engine) => engine?.close(), () => undefined)
      .finally(() => port.close());
    return;
  }
  const { id, task } = message;
  perform(id, task).then(
    (result) => send({ type: 'done', id, result }),
    (error: unknown) => {
      const code = error instanceof CapserveError ? error.code : typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
      const details = error instanceof CapserveError ? error.details : undefined;
      send({ type: 'failed', id, code, message: messageOf(error), details });
    },
  );
});
