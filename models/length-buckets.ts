/** How much of a padded batch was real tokens. */
export interface PaddingStats {
  readonly realTokens: number;
  readonly paddedTokens: number;
  /** realTokens / paddedTokens; 1 when nothing was run. */
  readonly efficiency: number;
}

export interface BucketOptions {
  /**
   * The fixed cost of one model call, in tokens: what a call costs beyond the padded tokens it
   * computes. Measured for the MiniLM-shaped model on onnxruntime's CPU provider at about 25 (a
   * batch-1 call of 45 tokens costs what 70 tokens do in a large batch); 32 planned best
   * against 16, 64 and 128. @default 32
   */
  readonly callCostTokens?: number;
}

/*
 * Why an optimal partition rather than a greedy rule: a model call costs a fixed amount plus its
 * padded tokens (batch size × longest text), and once the texts are sorted by length the best
 * grouping is a set of contiguous runs. Choosing the cuts that minimise
 *   Σ over buckets (callCostTokens + longest × count)
 * is a small dynamic programme, O(n²) for a call of n texts (n ≤ a few hundred: microseconds
 * against milliseconds of model time). Measured on 41- and 64-text calls of the benchmark corpus
 * (MiniLM-shaped, CPU): 161 and 172 texts/s against 157 and 153 for the greedy "at most 20 %
 * padding, at least 4 texts" rule it replaces; 0.94–0.96 of tokens real against 0.85.
 */

/**
 * Groups texts by token length so short texts are not padded to the longest of the batch.
 * Returns indices into `lengths`, buckets shortest first, each in ascending length (ties in input order).
 */
export function planBuckets(lengths: readonly number[], options: BucketOptions = {}): number[][] {
  const callCost = options.callCostTokens ?? 32;
  const order = lengths.map((_, i) => i).sort((a, b) => (lengths[a] ?? 0) - (lengths[b] ?? 0) || a - b);
  const n = order.length;
  // best[j]: the cheapest plan for the j shortest texts; start[j]: where its last bucket starts.
  const best = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
  const start = new Int32Array(n + 1);
  best[0] = 0;
  for (let j = 1; j <= n; j += 1) {
    // Sorted ascending, so the j-th text is the longest of any bucket that ends with it.
    const longest = lengths[order[j - 1] ?? 0] ?? 0;
    for (let i = 0; i < j; i += 1) {
      const cost = (best[i] ?? 0) + callCost + longest * (j - i);
      if (cost < (best[j] ?? Number.POSITIVE_INFINITY)) {
        best[j] = cost;
        start[j] = i;
      }
    }
  }
  const buckets: number[][] = [];
  for (let j = n; j > 0; j = start[j] ?? 0) buckets.unshift(order.slice(start[j] ?? 0, j));
  return buckets;
}

/** Counts real and padded tokens over a model's calls, for `/stats`. */
export class PaddingCounter {
  #real = 0;
  #padded = 0;

  /** One padded call: the texts' real lengths, each padded to `width`. */
  add(lengths: readonly number[], width: number): void {
    for (const length of lengths) this.#real += length;
    this.#padded += width * lengths.length;
  }

  snapshot(): PaddingStats {
    return {
      realTokens: this.#real,
      paddedTokens: this.#padded,
      efficiency: this.#padded === 0 ? 1 : Math.round((this.#real / this.#padded) * 1e4) / 1e4,
    };
  }
}

/** Sums several counters' snapshots (a model's instances). */
export function sumPadding(stats: readonly PaddingStats[]): PaddingStats {
  const realTokens = stats.reduce((sum, s) => sum + s.realTokens, 0);
  const paddedTokens = stats.reduce((sum, s) => sum + s.paddedTokens, 0);
  return { realTokens, paddedTokens, efficiency: paddedTokens === 0 ? 1 : Math.round((realTokens / paddedTokens) * 1e4) / 1e4 };
}
