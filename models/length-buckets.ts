/** How much of a padded batch was real tokens. */
export interface PaddingStats {
  readonly realTokens: number;
  readonly paddedTokens: number;
  /** realTokens / paddedTokens; 1 when nothing was run. */
  readonly efficiency: number;
}

export interface BucketOptions {
  /**
   * The largest share of a bucket's padded tokens that may be padding before a longer text
   * starts a new bucket. @default 0.2
   */
  readonly maxWaste?: number;
  /** Texts a bucket holds before it may be split: each model call has a fixed cost. @default 4 */
  readonly minSize?: number;
}

/**
 * Groups texts by token length so short texts are not padded to the longest of the batch. Texts
 * are taken shortest first; a text starts a new bucket when adding it would make the current
 * bucket's padding exceed `maxWaste` and the bucket already holds `minSize` texts. Returns
 * indices into `lengths`, each bucket in ascending length.
 */
export function planBuckets(lengths: readonly number[], options: BucketOptions = {}): number[][] {
  const maxWaste = options.maxWaste ?? 0.2;
  const minSize = options.minSize ?? 4;
  const order = lengths.map((_, i) => i).sort((a, b) => (lengths[a] ?? 0) - (lengths[b] ?? 0) || a - b);
  const buckets: number[][] = [];
  let current: number[] = [];
  let sum = 0;
  for (const index of order) {
    const length = lengths[index] ?? 0;
    // Sorted ascending, so the newcomer is the bucket's longest: it sets the padded width.
    const padded = length * (current.length + 1);
    const waste = padded === 0 ? 0 : (padded - (sum + length)) / padded;
    if (current.length >= minSize && waste > maxWaste) {
      buckets.push(current);
      current = [];
      sum = 0;
    }
    current.push(index);
    sum += length;
  }
  if (current.length > 0) buckets.push(current);
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
