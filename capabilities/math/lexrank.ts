import { type Vector, dot, norm } from './vectors.js';

const damping = 0.85;
const maxIterations = 100;
const tolerance = 1e-10;

/**
 * Continuous LexRank (Erkan & Radev, 2004): PageRank over the graph whose edge weights are the
 * sentences' positive cosine similarities, self-loops left out. Returns each sentence's
 * centrality scaled so the most central is 1. A sentence similar to no other spreads its
 * weight evenly, so isolated sentences do not sink the ranking. O(n² · dimensions).
 */
export function lexRank(vectors: readonly Vector[]): number[] {
  const n = vectors.length;
  if (n === 0) return [];
  if (n === 1) return [1];
  const norms = vectors.map(norm);
  const weights = vectors.map((a, i) =>
    vectors.map((b, j) => {
      const denominator = (norms[i] ?? 0) * (norms[j] ?? 0);
      return i === j || denominator === 0 ? 0 : Math.max(0, dot(a, b) / denominator);
    }),
  );
  const rowSums = weights.map((row) => row.reduce((sum, w) => sum + w, 0));
  let rank = new Array<number>(n).fill(1 / n);
  for (let iteration = 0; iteration < maxIterations; iteration += 1) {
    const next = new Array<number>(n).fill((1 - damping) / n);
    for (let i = 0; i < n; i += 1) {
      const share = damping * (rank[i] ?? 0);
      const row = weights[i] as number[];
      const total = rowSums[i] ?? 0;
      for (let j = 0; j < n; j += 1) {
        next[j] = (next[j] ?? 0) + (total === 0 ? share / n : (share * (row[j] ?? 0)) / total);
      }
    }
    const change = next.reduce((sum, v, i) => sum + Math.abs(v - (rank[i] ?? 0)), 0);
    rank = next;
    if (change < tolerance) break;
  }
  const best = Math.max(...rank);
  return rank.map((v) => v / best);
}
