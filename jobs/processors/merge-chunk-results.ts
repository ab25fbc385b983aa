import { round } from '../../capabilities/math/vectors.js';

/**
 * Merges one capability's results over the chunks of a long text into one result for the
 * whole text. The rule follows the result's shape, so custom capabilities merge sensibly too:
 *
 * | shape | merge |
 * |---|---|
 * | number[] (embedding) | mean of the chunk vectors, weighted by chunk length |
 * | `{ label, score, scores }` | weighted mean of `scores`, best label re-chosen |
 * | `{ top, labels, scores }` (topics) | weighted mean of `scores`, `labels` re-ranked |
 * | `{ triggered, alerts }` | union of alerts (deduplicated) |
 * | `{ items: [{ id, score }] }` | best score per item id, re-ranked |
 * | `{ language, confidence }` | the language with most weight |
 * | anything else | the array of chunk results |
 */
export function mergeChunkResults(results: readonly unknown[], weights: readonly number[]): unknown {
  const first = results[0];
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  if (results.length === 1) return first;
  if (results.every(isNumberArray)) return weightedMeanVector(results, weights, total);
  if (results.every((r) => isRecord(r) && isRecord(r.scores) && typeof r.label === 'string')) {
    const scores = weightedScores(results as { scores: Record<string, number> }[], weights, total);
    const [label, score] = best(scores);
    return { label, score, scores };
  }
  if (results.every((r) => isRecord(r) && isRecord(r.scores) && typeof r.top === 'string' && Array.isArray(r.labels))) {
    const scores = weightedScores(results as { scores: Record<string, number> }[], weights, total);
    const topK = Math.max(...results.map((r) => ((r as { labels: unknown[] }).labels).length));
    const ranked = Object.entries(scores).sort((a, b) => b[1] - a[1]);
    return { top: ranked[0]?.[0] ?? '', labels: ranked.slice(0, topK).map(([label, score]) => ({ label, score })), scores };
  }
  if (results.every((r) => isRecord(r) && typeof r.triggered === 'boolean' && Array.isArray(r.alerts))) {
    const seen = new Map<string, unknown>();
    for (const r of results as { alerts: unknown[] }[]) for (const alert of r.alerts) seen.set(JSON.stringify(alert), alert);
    return { triggered: seen.size > 0, alerts: [...seen.values()] };
  }
  if (results.every((r) => isRecord(r) && Array.isArray(r.items))) {
    const byId = new Map<string, Record<string, unknown> & { score: number }>();
    let topK = 0;
    for (const r of results as { items: (Record<string, unknown> & { id: string; score: number })[] }[]) {
      topK = Math.max(topK, r.items.length);
      for (const item of r.items) if ((byId.get(item.id)?.score ?? -Infinity) < item.score) byId.set(item.id, item);
    }
    return { items: [...byId.values()].sort((a, b) => b.score - a.score).slice(0, topK) };
  }
  if (results.every((r) => isRecord(r) && typeof r.language === 'string')) {
    const votes = new Map<string, number>();
    results.forEach((r, i) => {
      const language = (r as { language: string }).language;
      votes.set(language, (votes.get(language) ?? 0) + (weights[i] ?? 0));
    });
    const [language, weight] = [...votes].sort((a, b) => b[1] - a[1])[0] ?? ['und', 0];
    return { language, confidence: round(weight / total, 4) };
  }
  return results;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number');
}

function weightedMeanVector(vectors: readonly number[][], weights: readonly number[], total: number): number[] {
  const out = new Array<number>(vectors[0]?.length ?? 0).fill(0);
  vectors.forEach((vector, i) => vector.forEach((v, d) => (out[d] = (out[d] ?? 0) + (v * (weights[i] ?? 0)) / total)));
  return out;
}

function weightedScores(results: readonly { scores: Record<string, number> }[], weights: readonly number[], total: number): Record<string, number> {
  const sums: Record<string, number> = {};
  results.forEach((r, i) => {
    for (const [label, score] of Object.entries(r.scores)) sums[label] = (sums[label] ?? 0) + (score * (weights[i] ?? 0)) / total;
  });
  return Object.fromEntries(Object.entries(sums).map(([label, score]) => [label, round(score)]));
}

function best(scores: Record<string, number>): [string, number] {
  return Object.entries(scores).reduce<[string, number]>((a, b) => (b[1] > a[1] ? b : a), ['', -Infinity]);
}
