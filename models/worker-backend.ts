import { Worker } from 'node:worker_threads';
import { asCapserveError, CapserveError, isErrorCode } from '../core/errors.js';
import { gpuLockBuffer } from './devices/gpu-lock.js';
import { type PaddingStats } from './length-buckets.js';
import { type BackendKind, type BackendLoader, type ModelBackend, type ModelInfo, type RunOptions } from './types.js';
import { type FromWorker, type ToWorker } from './worker-protocol.js';

const fromSource = import.meta.url.endsWith('.ts');
/** The worker's entry, in the same form (TypeScript source or compiled JavaScript) as this file. */
const workerUrl = new URL(`./model-worker${fromSource ? '.ts' : '.js'}`, import.meta.url);

/**
 * Run from TypeScript source (tsx, tests), a worker does not get the parent's `--import` loader
 * on Node 20, so it registers tsx itself before importing its entry; compiled, it needs nothing.
 */
function startWorker(workerData: unknown): Worker {
  if (!fromSource) return new Worker(workerUrl, { workerData });
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/**
 * Loads a backend instance in a worker thread of its own. Same behaviour as the in-process
 * loaders (errors included), but the model computes off the event loop. The worker inherits
 * this process's flags, so it runs TypeScript wherever the server does.
 */
export const loadInWorker: BackendLoader = (spec, options) =>
  new Promise<ModelBackend>((resolve, reject) => {
    const worker = startWorker({ spec, options, gpuLock: gpuLockBuffer() });
    const onFirst = (message: FromWorker): void => {
      if (message.type === 'ready') {
        worker.off('error', onEarlyError);
        resolve(new WorkerBackend(worker, message.info, message.padding));
      } else if (message.type === 'load-failed') {
        void worker.terminate();
        const code = isErrorCode(message.code) ? message.code : 'MODEL_LOAD_FAILED';
        reject(new CapserveError(code, message.message));
      }
    };
    const onEarlyError = (error: Error): void => reject(new CapserveError('MODEL_LOAD_FAILED', `model "${spec.name}": its worker thread failed: ${error.message}`));
    worker.once('message', onFirst);
    worker.once('error', onEarlyError);
  });

/** Every backend kind, each instance in a worker thread. */
export const workerLoaders: Readonly<Record<BackendKind, BackendLoader>> = { onnx: loadInWorker, transformers: loadInWorker, tfjs: loadInWorker };

class WorkerBackend implements ModelBackend {
  readonly info: ModelInfo;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (outputs: Float32Array[]) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #padding: PaddingStats | undefined;
  #dead: Error | undefined;

  constructor(worker: Worker, info: ModelInfo, padding: PaddingStats | undefined) {
    this.#worker = worker;
    this.info = info;
    this.#padding = padding;
    worker.on('message', (message: FromWorker) => this.#receive(message));
    // A worker that dies fails what it held and every later call; the pool reports the error.
    const die = (error: Error): void => {
      this.#dead ??= error;
      for (const { reject } of this.#pending.values()) reject(error);
      this.#pending.clear();
    };
    worker.on('error', (error) => die(new Error(`model "${info.name}": worker thread failed: ${error.message}`)));
    worker.on('exit', (code) => die(new Error(`model "${info.name}": worker thread exited (${code})`)));
  }

  /**
   * A signal cannot cross into the worker thread, so it is honoured here: a call whose signal has
   * aborted is rejected without being posted. A posted call runs to the end in the worker.
   */
  run(texts: readonly string[], options: RunOptions = {}): Promise<Float32Array[]> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(asCapserveError(signal.reason, 'REQUEST_CANCELLED'));
    if (texts.length === 0) return Promise.resolve([]);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message: ToWorker = { type: 'run', id, texts: [...texts] };
      this.#worker.postMessage(message);
    });
  }

  padding(): PaddingStats {
    return this.#padding ?? { realTokens: 0, paddedTokens: 0, efficiency: 1 };
  }

  alive(): boolean {
    return this.#dead === undefined;
  }

  async close(): Promise<void> {
    if (this.#dead !== undefined) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    const message: ToWorker = { type: 'close' };
    this.#worker.postMessage(message);
    const timer = setTimeout(() => void this.#worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  #receive(message: FromWorker): void {
    if (message.type !== 'result' && message.type !== 'run-failed') return;
    const waiter = this.#pending.get(message.id);
    this.#pending.delete(message.id);
    if (message.type === 'result') {
      if (message.padding !== undefined) this.#padding = message.padding;
      waiter?.resolve(message.outputs);
    } else {
      // A lost device in the worker makes this instance dead here, so the pool reloads it (a new worker, a new device context).
      if (message.lost === true) this.#dead ??= new CapserveError('DEVICE_UNAVAILABLE', message.message);
      waiter?.reject(isErrorCode(message.code) ? new CapserveError(message.code, message.message) : new Error(message.message));
    }
  }
}
