import { type Clock, systemTime } from '../core/time.js';

/** One measured point of a cost curve: a call of `batch` texts took `ms` (the median of several). */
export interface CostPoint {
  readonly batch: number;
  readonly ms: number;
}

/** What one call of a model costs by batch size, measured when the model loaded (`GET /stats`). */
export interface CostCurve {
  readonly model: string;
  /** Ascending by batch: 1, 2, 4, … up to the largest batch; never decreasing in `ms`. */
  readonly points: readonly CostPoint[];
}

/** How a cost curve is measured. */
export interface CostCurveOptions {
  /** Calls per batch size; the median counts. @default 5 */
  readonly repetitions?: number;
  /** No larger batch size is started once measuring is predicted to pass this. @default 3000 */
  readonly budgetMs?: number;
  /** Words per measured text, a typical short document. @default 32 */
  readonly words?: number;
  /** @default systemTime */
  readonly time?: Clock;
}

/** A model call: one output per text. */
export type MeasuredCall = (texts: readonly string[]) => Promise<unknown>;

const vocabulary = [
  'the', 'order', 'arrived', 'late', 'and', 'support', 'never', 'answered', 'my', 'question', 'about',
  'a', 'refund', 'for', 'broken', 'screen', 'great', 'service', 'quick', 'delivery', 'price', 'was',
  'fair', 'but', 'app', 'keeps', 'crashing', 'when', 'I', 'open', 'invoice', 'page',
];

/** Batch sizes measured: powers of two below `maxBatch`, then `maxBatch` itself. */
export function batchSizes(maxBatch: number): number[] {
  const sizes: number[] = [];
  for (let size = 1; size < maxBatch; size *= 2) sizes.push(size);
  sizes.push(Math.max(1, maxBatch));
  return sizes;
}

/** `count` distinct texts of `words` words each, the same every time (so curves are comparable). */
export function typicalTexts(count: number, words: number): string[] {
  return Array.from({ length: count }, (_, text) =>
    Array.from({ length: words }, (_, word) => vocabulary[(text * 7 + word * 3) % vocabulary.length]).join(' '),
  );
}

/**
 * Measures how long one call takes at each of {@link batchSizes}(`maxBatch`), in two passes.
 * The first calls each size once, untimed for the curve (a new shape allocates), and stops
 * before the size whose predicted share of the run would pass `budgetMs`, so a slow model yields
 * a shorter curve rather than a slow start-up. The second runs `repetitions` rounds over the
 * sizes kept, interleaved, so a burst of noise (a collector pause, a neighbour's work) lands on
 * one call of several sizes rather than on every call of one; each size keeps its median. A
 * larger batch contains a smaller one's work, so each point is raised to at least the one before.
 */
export async function measureCostCurve(
  call: MeasuredCall,
  maxBatch: number,
  options: CostCurveOptions = {},
): Promise<CostPoint[]> {
  const clock = (): number => (options.time ?? systemTime).now();
  const repetitions = Math.max(1, options.repetitions ?? 5);
  const budgetMs = options.budgetMs ?? 3000;
  const sizes = batchSizes(maxBatch);
  const texts = typicalTexts(sizes.at(-1) ?? 1, options.words ?? 32);
  const timed = async (batch: number): Promise<number> => {
    const start = clock();
    await call(texts.slice(0, batch));
    return clock() - start;
  };
  const began = clock();
  const kept: { batch: number; first: number; times: number[] }[] = [];
  for (const batch of sizes) {
    const last = kept.at(-1);
    // Cost grows at most in proportion to the batch, so this over-predicts the size.
    const predicted = last === undefined ? 0 : (last.first * batch) / last.batch;
    const rounds = kept.reduce((sum, size) => sum + size.first, predicted) * repetitions;
    if (last !== undefined && clock() - began + predicted + rounds > budgetMs) break;
    kept.push({ batch, first: await timed(batch), times: [] });
  }
  for (let round = 0; round < repetitions; round += 1) {
    for (const size of kept) size.times.push(await timed(size.batch));
  }
  const points: CostPoint[] = [];
  for (const { batch, times } of kept) {
    const ms = Math.max(median(times), points.at(-1)?.ms ?? 0);
    points.push({ batch, ms: Math.round(ms * 1000) / 1000 });
  }
  return points;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
