/**
 * The body of a model worker thread: loads one backend instance with the in-process loaders and
 * serves `run` requests from the main thread. onnxruntime-node and TF.js compute synchronously
 * on the thread that calls them, so running them here keeps the server's event loop free for
 * HTTP, JSON and the next batch while the model computes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { messageOf } from '../core/errors.js';
import { adoptGpuLock } from './devices/gpu-lock.js';
import { defaultLoaders } from './loaders.js';
import { type LoadOptions, type ModelBackend, type ModelSpec } from './types.js';
import { type FromWorker, type ToWorker } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('model-worker.ts runs as a worker thread');
const { spec, options, gpuLock } = workerData as { spec: ModelSpec; options: LoadOptions; gpuLock: SharedArrayBuffer };
adoptGpuLock(gpuLock);
const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

let backend: ModelBackend | undefined;
try {
  backend = await defaultLoaders[spec.backend](spec, options);
  send({ type: 'ready', info: backend.info, ...(backend.padding === undefined ? {} : { padding: backend.padding() }) });
} catch (error) {
  const code = typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : undefined;
  send({ type: 'load-failed', message: messageOf(error), ...(code === undefined ? {} : { code }) });
}

port.on('message', (message: ToWorker) => {
  if (backend === undefined) return;
  const loaded = backend;
  if (message.type === 'close') {
    void loaded.close().finally(() => port.close());
    return;
  }
  loaded.run(message.texts).then(
    (outputs) => {
      const padding = loaded.padding?.();
      send({ type: 'result', id: message.id, outputs, ...(padding === undefined ? {} : { padding }) }, outputs.map((o) => o.buffer as ArrayBuffer));
    },
    (error: unknown) => {
      const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
      send({ type: 'run-failed', id: message.id, message: messageOf(error), ...(typeof code === 'string' ? { code } : {}), lost: loaded.alive?.() === false });
    },
  );
});
