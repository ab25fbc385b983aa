import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AutoTokenizer } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { type DeviceRequest } from '../../models/devices/device.js';
import { openPlacedSession } from '../../models/devices/open-session.js';
import { type ModelBackend } from '../../models/types.js';
import { type BenchRequest } from './corpus.js';

export interface LimitRow {
  readonly batch: number;
  readonly textsPerSec: number;
  readonly msPerBatch: number;
}

/** Runs `call` over the batches, round-robin, for about `seconds` (after one warm-up call each). */
async function timeBatches(batches: readonly unknown[], size: number, seconds: number, call: (batch: unknown) => Promise<unknown>): Promise<LimitRow> {
  for (const batch of batches.slice(0, 2)) await call(batch);
  let texts = 0;
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await call(batches[calls % batches.length]);
    calls += 1;
    texts += size;
  }
  const elapsed = (performance.now() - started) / 1000;
  return { batch: size, textsPerSec: Math.round(texts / elapsed), msPerBatch: Math.round((elapsed * 1000 * 100) / calls) / 100 };
}

/**
 * The machine's limit for an ONNX model: a raw onnxruntime-node session (the server's session
 * options and threads) on batches tokenised beforehand from texts sorted by length, so that
 * neither tokenising, padding, HTTP nor batching is counted: the best any server could do.
 * The session opens on `device` as the server's do (models/devices/open-session.ts).
 */
export async function onnxLimit(
  modelDir: string,
  texts: readonly string[],
  sizes: readonly number[],
  seconds: number,
  threads: number,
  device: DeviceRequest = 'cpu',
): Promise<LimitRow[]> {
  const tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
  const { session } = await openPlacedSession(path.join(modelDir, 'onnx', 'model.onnx'), device, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    // As the server's sessions (models/onnx-backend.ts).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const lengthOf = (text: string): number => (tokenizer(text, { truncation: true, max_length: 128 }).input_ids.dims as number[])[1] ?? 0;
  const sorted = texts
    .slice(0, 2048)
    .map((text) => ({ text, length: lengthOf(text) }))
    .sort((a, b) => a.length - b.length)
    .map((entry) => entry.text);
  const rows: LimitRow[] = [];
  try {
    for (const size of sizes) {
      // Consecutive slices of the sorted texts, spread over the whole length range.
      const stride = Math.max(size, Math.floor(sorted.length / 8));
      const batches = Array.from({ length: 8 }, (_, k) => {
        const slice = Array.from({ length: size }, (_, i) => sorted[(k * stride + i) % sorted.length] ?? '');
        const encoded = tokenizer(slice, { padding: true, truncation: true, max_length: 128 });
        const feeds: Record<string, ort.Tensor> = {};
        for (const name of session.inputNames) {
          const tensor = (encoded as Record<string, { data: BigInt64Array; dims: number[] } | undefined>)[name];
          const dims = encoded.input_ids.dims as number[];
          feeds[name] = new ort.Tensor('int64', tensor?.data ?? new BigInt64Array(dims[0]! * dims[1]!), dims);
        }
        return feeds;
      });
      rows.push(await timeBatches(batches, size, seconds, (feeds) => session.run(feeds as Record<string, ort.Tensor>)));
    }
  } finally {
    await session.release();
  }
  return rows;
}

/** The limit for a backend without a separate raw form (USE-lite on TF.js): its own `run` call. */
export async function backendLimit(backend: ModelBackend, texts: readonly string[], sizes: readonly number[], seconds: number): Promise<LimitRow[]> {
  const rows: LimitRow[] = [];
  for (const size of sizes) {
    const batches = Array.from({ length: 8 }, (_, k) => Array.from({ length: size }, (_, i) => texts[(k * size + i) % texts.length] ?? ''));
    rows.push(await timeBatches(batches, size, seconds, (batch) => backend.run(batch as string[])));
  }
  return rows;
}

/** Model time of each request on its own (the backend's run over its texts), median in ms. */
export async function modelTimePerRequest(backend: ModelBackend, requests: readonly BenchRequest[]): Promise<number> {
  await backend.run(requests[0]?.texts ?? ['warm up']);
  const times: number[] = [];
  for (const request of requests) {
    const started = performance.now();
    await backend.run(request.texts);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return Math.round((times[Math.floor(times.length / 2)] ?? NaN) * 100) / 100;
}
