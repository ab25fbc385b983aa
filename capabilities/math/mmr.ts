import { type Vector, dot, norm } from './vectors.js';

/** How {@link maximalMarginalRelevance} picks. */
export interface MmrOptions {
  /**
   * Weight of relevance against redundancy, in [0, 1]: 1 ranks by relevance alone, 0 by
   * novelty alone.
   */
  readonly lambda: number;
  /** Items picked at most. */
  readonly limit: number;
  /**
   * Whether the best remaining item may be taken (a budget, a repeat); one refused is dropped
   * and the next best is tried, so a lower item that fits may still be picked.
   */
  readonly accept?: (index: number) => boolean;
  /**
   * Only the `pool` most relevant items compete until each of them is picked or refused; then the
   * rest do. @default every item
   */
  readonly pool?: number;
}

/**
 * Maximal Marginal Relevance (Carbonell & Goldstein, 1998): greedily picks the item with the best
 * `λ · relevance − (1 − λ) · max cosine to the items already picked` (negative similarities
 * count as 0, as in LexRank), so an item that repeats a picked one in other words loses to one
 * that adds something. Returns the picked indices in the order they were picked; the first is
 * always the most relevant item that is accepted. Ties go to the earlier item.
 *
 * With `pool`, MMR re-ranks a shortlist of the most relevant items, as retrieval does (fetch
 * many, diversify to few): over the whole set, an item unlike every other (boilerplate, an aside)
 * would win on novelty alone however peripheral it is.
 *
 * Work is bounded: every step drops one item (picked or refused), each step scans the remaining
 * items once, and each pick updates their similarity once: O(n log n + n² + limit · n · dimensions).
 */
export function maximalMarginalRelevance(vectors: readonly Vector[], relevance: readonly number[], options: MmrOptions): number[] {
  const n = relevance.length;
  const norms = vectors.map(norm);
  /** Each item's highest similarity to a picked one. */
  const redundancy = new Array<number>(n).fill(0);
  const byRelevance = relevance.map((_, i) => i).sort((a, b) => (relevance[b] ?? 0) - (relevance[a] ?? 0) || a - b);
  const shortlist = Math.max(1, Math.min(n, options.pool ?? n));
  // Kept in index order, so that ties go to the earlier item.
  let remaining = new Set<number>(byRelevance.slice(0, shortlist).sort((a, b) => a - b));
  let reserve = new Set<number>(byRelevance.slice(shortlist).sort((a, b) => a - b));
  const picked: number[] = [];
  while (picked.length < options.limit && remaining.size + reserve.size > 0) {
    if (remaining.size === 0) [remaining, reserve] = [reserve, remaining];
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const i of remaining) {
      const score = options.lambda * (relevance[i] ?? 0) - (1 - options.lambda) * (redundancy[i] ?? 0);
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    remaining.delete(best);
    if (options.accept !== undefined && !options.accept(best)) continue;
    picked.push(best);
    const chosen = vectors[best];
    if (chosen === undefined || options.lambda === 1) continue;
    for (const others of [remaining, reserve]) {
      for (const i of others) {
        const other = vectors[i];
        const denominator = (norms[i] ?? 0) * (norms[best] ?? 0);
        if (other === undefined || denominator === 0) continue;
        redundancy[i] = Math.max(redundancy[i] ?? 0, dot(chosen, other) / denominator);
      }
    }
  }
  return picked;
}
