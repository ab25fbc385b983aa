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
 * The batches are consecutive slices of the sorted texts, every text once per pass, so their
 * lengths are the corpus's (a sample of a few slices once favoured short texts: 45 tokens per
 * text against the corpus's 53, which flattered the limit by about a sixth).
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
      const batches = spreadOrder(Math.max(1, Math.floor(sorted.length / size))).map((chunk) => {
        const slice = sorted.slice(chunk * size, (chunk + 1) * size);
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

/**
 * 0 … n−1 in an order that spreads over the range (golden-ratio steps): any prefix of it samples
 * short and long slices alike, so a run that its time cuts short mid-pass is not biased.
 */
function spreadOrder(n: number): number[] {
  const step = (Math.sqrt(5) - 1) / 2;
  const at = (i: number): number => (i * step) % 1;
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => at(a) - at(b));
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
