import { type Worker } from 'node:worker_threads';
import { CapserveError, errorDefinitions, isCapserveError, isErrorCode } from '../../core/errors.js';
import { siblingModule, startWorker } from '../../core/start-worker.js';
import { type DeviceRequest } from '../../models/devices/device.js';
import { gpuLockBuffer } from '../../models/devices/gpu-lock.js';
import { type FromMediaWorker, type MediaTask, type MediaTaskResults, type MediaWorkerData, type ToMediaWorker } from './media-task.js';

const workerUrl = siblingModule('media-worker', import.meta.url);

export interface MediaWorkersOptions {
  /** Worker threads at most; tasks beyond them wait in order. MEDIA_WORKERS. */
  readonly size: number;
  /** Each thread's old-generation heap limit. MEDIA_WORKER_HEAP_MB. */
  readonly heapMb: number;
  /** Where OCR runs. */
  readonly device: DeviceRequest;
}

export interface MediaRunOptions {
  /**
   * Aborting stops the task at once: its thread is terminated (and replaced by the next task).
   * The task fails with the signal's reason when that is a coded error, JOB_TIMEOUT when it is a
   * `TimeoutError`, else REQUEST_CANCELLED.
   */
  readonly signal?: AbortSignal;
  /** Called with 0..1 as the task advances (PDF pages read). */
  readonly onProgress?: (fraction: number) => void;
}

interface Slot {
  readonly worker: Worker;
  /** Set once the thread has died or been terminated; it takes no more tasks. */
  dead: boolean;
}

/**
 * A pool of media worker threads (`media-worker.ts`) with a heap limit each. Threads start on
 * demand and stay for the next task; a thread that runs out of heap, crashes, or whose task is
 * aborted (cancel, MAX_JOB_SECONDS) is terminated and replaced. Native memory (pdf.js buffers,
 * libvips, onnxruntime) is outside the heap limit, which is why the limits on pixels, pages and
 * inflated bytes are checked before decoding.
 */
export class MediaWorkers {
  readonly #options: MediaWorkersOptions;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #waiting: { take: (slot: Slot | undefined) => void }[] = [];
  readonly #gpuLock = gpuLockBuffer();
  #nextId = 1;
  #closed = false;

  constructor(options: MediaWorkersOptions) {
    this.#options = options;
  }

  /** Threads started and alive. */
  get threads(): number {
    return this.#slots.size;
  }

  async run<K extends MediaTask['type']>(task: Extract<MediaTask, { type: K }>, options: MediaRunOptions = {}): Promise<MediaTaskResults[K]> {
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal);
    const slot = await this.#acquire(signal);
    try {
      return (await this.#perform(slot, task, options)) as MediaTaskResults[K];
    } finally {
      this.#release(slot);
    }
  }

  /** Stops every thread: idle ones at once, busy ones after their OCR sessions close (5 s at most). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter.take(undefined);
    await Promise.all(
      [...this.#slots].map(async (slot) => {
        const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
        const message: ToMediaWorker = { type: 'close' };
        slot.worker.postMessage(message);
        const timer = setTimeout(() => void slot.worker.terminate(), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.#slots.clear();
  }

  async #acquire(signal: AbortSignal | undefined): Promise<Slot> {
    if (this.#closed) throw new CapserveError('SHUTTING_DOWN', 'the media workers are closed');
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle;
    if (this.#slots.size < this.#options.size) return this.#spawn();
    const slot = await new Promise<Slot | undefined>((resolve, reject) => {
      const waiter = {
        take: (taken: Slot | undefined) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(taken);
        },
      };
      const onAbort = (): void => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
    if (slot === undefined) throw new CapserveError('SHUTTING_DOWN', 'the media workers are closed');
    return slot;
  }

  /** Hands a live thread to the next waiter or back to the idle list; a dead one makes room for a new thread. */
  #release(slot: Slot): void {
    if (slot.dead) {
      this.#slots.delete(slot);
      const waiter = this.#waiting.shift();
      if (waiter !== undefined) {
        if (this.#closed) waiter.take(undefined);
        else waiter.take(this.#spawn());
      }
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter.take(slot);
    else this.#idle.push(slot);
  }

  #spawn(): Slot {
    const data: MediaWorkerData = { device: this.#options.device, gpuLock: this.#gpuLock };
    const worker = startWorker(workerUrl, { workerData: data, resourceLimits: { maxOldGenerationSizeMb: this.#options.heapMb } });
    // An idle thread is no reason to keep the process alive.
    worker.unref();
    const slot: Slot = { worker, dead: false };
    const die = (): void => {
      if (slot.dead) return;
      slot.dead = true;
      const at = this.#idle.indexOf(slot);
      if (at >= 0) {
        this.#idle.splice(at, 1);
        this.#slots.delete(slot);
      }
    };
    worker.once('exit', die);
    worker.once('error', die);
    this.#slots.add(slot);
    return slot;
  }

  #perform(slot: Slot, task: MediaTask, options: MediaRunOptions): Promise<unknown> {
    const { worker } = slot;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        worker.unref();
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const fail = (error: Error): void => {
        settle();
        reject(error);
      };
      const onMessage = (message: FromMediaWorker): void => {
        if (message.id !== id) return;
        if (message.type === 'progress') {
          options.onProgress?.(message.fraction);
          return;
        }
        settle();
        if (message.type === 'done') resolve(message.result);
        else reject(workerError(message.code, message.message, message.details));
      };
      const onError = (error: Error): void => {
        slot.dead = true;
        if ((error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
          fail(
            new CapserveError('MEDIA_TOO_LARGE', `the media worker ran out of its ${this.#options.heapMb} MB heap (MEDIA_WORKER_HEAP_MB) reading this ${task.type === 'ocr' ? 'image' : 'PDF'}`, {
              details: { limit: 'MEDIA_WORKER_HEAP_MB', max: this.#options.heapMb },
            }),
          );
        } else {
          fail(new CapserveError('INTERNAL_ERROR', `the media worker failed: ${error.message}`, { cause: error }));
        }
      };
      const onExit = (code: number): void => {
        slot.dead = true;
        fail(
          this.#closed
            ? new CapserveError('SHUTTING_DOWN', 'the media workers closed during the task')
            : new CapserveError('INTERNAL_ERROR', `the media worker exited (${code}) during a ${task.type} task`),
        );
      };
      const onAbort = (): void => {
        // The task may be deep in a synchronous loop: the only way to stop it is to end the thread.
        slot.dead = true;
        void worker.terminate();
        fail(abortError(options.signal!));
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      // A busy thread keeps the process alive; an idle one does not.
      worker.ref();
      const message: ToMediaWorker = { type: 'task', id, task };
      worker.postMessage(message);
    });
  }
}

function workerError(code: string | undefined, message: string, details: Readonly<Record<string, unknown>> | undefined): Error {
  if (!isErrorCode(code)) return new Error(message);
  return new CapserveError(code, message, details === undefined ? {} : { details: { ...details } });
}

function abortError(signal: AbortSignal): CapserveError {
  const reason: unknown = signal.reason;
  if (isCapserveError(reason)) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new CapserveError('JOB_TIMEOUT', errorDefinitions.JOB_TIMEOUT.message, { cause: reason });
  return new CapserveError('REQUEST_CANCELLED', undefined, { cause: reason });
}
