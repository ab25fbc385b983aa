import { isMainThread } from 'node:worker_threads';

/**
 * One lock over the WebGPU device for the whole process, its worker threads included.
 *
 * onnxruntime shares one WebGPU device among every session of a process, and Dawn does not take
 * command encoders from two threads at once: two model instances running on WebGPU from two
 * worker threads fail with "Command encoding already finished". A GPU runs one batch at a
 * time anyway, so runs on WebGPU take turns: a lock word in a SharedArrayBuffer that the main
 * thread creates and hands to every model worker ({@link gpuLockBuffer}, {@link adoptGpuLock}).
 * Waiting is asynchronous (`Atomics.waitAsync`), so no thread blocks its event loop.
 */
let word = new Int32Array(new SharedArrayBuffer(4));

/** The lock's memory, for a worker thread to adopt. */
export function gpuLockBuffer(): SharedArrayBuffer {
  return word.buffer as SharedArrayBuffer;
}

/** Makes this worker thread use the process's lock (called once, before any model loads). */
export function adoptGpuLock(buffer: SharedArrayBuffer): void {
  if (isMainThread) throw new Error('the main thread owns the GPU lock');
  word = new Int32Array(buffer);
}

/** `Atomics.waitAsync` (Node 16+), which the ES2023 library this project compiles against does not declare. */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

const FREE = 0;
const HELD = 1;

/** Runs `work` while holding the WebGPU lock; the lock is released however `work` ends. */
export async function withGpuLock<T>(work: () => Promise<T>): Promise<T> {
  while (Atomics.compareExchange(word, 0, FREE, HELD) !== FREE) {
    const wait = waitAsync(word, 0, HELD);
    if (wait.async) await wait.value;
  }
  try {
    return await work();
  } finally {
    Atomics.store(word, 0, FREE);
    Atomics.notify(word, 0, 1);
  }
}
