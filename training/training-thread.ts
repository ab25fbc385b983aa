import { type Worker } from 'node:worker_threads';
import { asCapserveError, CapserveError, isErrorCode } from '../core/errors.js';
import { siblingModule, startWorker } from '../core/start-worker.js';
import { type Progress, type TaskOutcomes, type TrainingTask } from './training-tasks.js';

/** Training thread to main thread. */
export type FromTrainingThread =
  | { readonly type: 'progress'; readonly fraction: number; readonly stage: string }
  | { readonly type: 'done'; readonly outcome: unknown }
  | { readonly type: 'failed'; readonly message: string; readonly code?: string };

/** What one model job's training thread may use. */
export interface TrainingLimits {
  /** Time the thread may spend on the job's tasks, all together (MAX_TRAINING_SECONDS). */
  readonly timeLimitMs: number;
  /** The thread's heap (V8 old generation) in MiB (MAX_TRAINING_MEMORY_MB). */
  readonly memoryMb: number;
}

const entry = siblingModule('training-worker', import.meta.url);
let running = 0;

/** Training threads alive in this process (started and not yet exited): for tests and diagnostics. */
export function runningTrainingThreads(): number {
  return running;
}

/**
 * One model job's worker thread, started on its first task and ended by `close()`. A task that
 * passes the job's time limit, or a cancel (the job's signal), terminates the thread at once:
 * a fit in progress cannot be interrupted any other way, and terminating also frees all the
 * memory it held. Every later task then fails the same way.
 */
export class TrainingThread {
  readonly #limits: TrainingLimits;
  readonly #signal: AbortSignal;
  #worker: Worker | undefined;
  #spentMs = 0;
  #stopped: Error | undefined;

  constructor(limits: TrainingLimits, signal: AbortSignal) {
    this.#limits = limits;
    this.#signal = signal;
  }

  /** Runs one task in the thread; `progress` hears the stages it reports. */
  run<T extends TrainingTask>(task: T, progress: Progress = () => {}): Promise<TaskOutcomes[T['type']]> {
    if (this.#signal.aborted) this.#stopped ??= asCapserveError(this.#signal.reason, 'REQUEST_CANCELLED');
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    const worker = (this.#worker ??= this.#start());
    const started = performance.now();
    return new Promise<TaskOutcomes[T['type']]>((resolve, reject) => {
      const settle = (error: Error | undefined, outcome?: unknown): void => {
        clearTimeout(timer);
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        this.#signal.removeEventListener('abort', onAbort);
        this.#spentMs += performance.now() - started;
        if (error === undefined) resolve(outcome as TaskOutcomes[T['type']]);
        else reject(error);
      };
      const stop = (error: Error): void => {
        this.#stopped ??= error;
        void worker.terminate();
        settle(this.#stopped);
      };
      const onMessage = (message: FromTrainingThread): void => {
        if (message.type === 'progress') progress(message.fraction, message.stage);
        else if (message.type === 'done') settle(undefined, message.outcome);
        else settle(isErrorCode(message.code) ? new CapserveError(message.code, message.message) : new Error(message.message));
      };
      const onError = (error: Error & { code?: unknown }): void => {
        if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          stop(new CapserveError('TRAINING_LIMIT_EXCEEDED', `the model job's training thread ran out of memory (MAX_TRAINING_MEMORY_MB, ${this.#limits.memoryMb} MiB)`));
        } else {
          stop(new Error(`the training thread failed: ${error.message}`));
        }
      };
      const onExit = (code: number): void => stop(new Error(`the training thread exited (${code})`));
      const onAbort = (): void => stop(asCapserveError(this.#signal.reason, 'REQUEST_CANCELLED'));
      const remaining = Math.max(0, this.#limits.timeLimitMs - this.#spentMs);
      const timer = setTimeout(() => {
        stop(new CapserveError('TRAINING_LIMIT_EXCEEDED', `the model job computed for more than MAX_TRAINING_SECONDS (${this.#limits.timeLimitMs / 1000} s)`));
      }, remaining);
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      this.#signal.addEventListener('abort', onAbort, { once: true });
      const transfer = 'embeddings' in task && task.embeddings !== undefined ? [task.embeddings.values.buffer as ArrayBuffer] : [];
      worker.postMessage(task, transfer);
    });
  }

  /** Ends the thread (and with it everything it held); waits until it has exited. */
  async close(): Promise<void> {
    this.#stopped ??= new Error('the training thread is closed');
    const worker = this.#worker;
    if (worker !== undefined) await worker.terminate();
  }

  #start(): Worker {
    const worker = startWorker(entry, { resourceLimits: { maxOldGenerationSizeMb: this.#limits.memoryMb } });
    running += 1;
    worker.once('exit', (code) => {
      running -= 1;
      this.#stopped ??= new Error(`the training thread exited (${code})`);
    });
    // A thread that fails between tasks has nobody listening; its next task fails with the exit.
    worker.on('error', () => {});
    return worker;
  }
}
