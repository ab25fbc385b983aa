import { CapserveError } from '../../../core/errors.js';
import { type Prediction } from './types.js';

/** A result that is an embedding vector, or the 424 of a capability that gives none. */
export function vectorOf(result: unknown, capability: string): number[] {
  if (!Array.isArray(result) || result.some((value) => typeof value !== 'number')) {
    throw new CapserveError('CAPABILITY_BAD_OUTPUT', `capability '${capability}' does not give embedding vectors; set TEI_EMBEDDING_CAPABILITY to an embedding capability`);
  }
  return result as number[];
}

/**
 * A classifier result (`{ label, score, scores }`) as TEI's predictions: every label with its
 * score, highest first; or the 424 of a capability that gives no label scores.
 */
export function predictionsOf(result: unknown, capability: string): Prediction[] {
  const scores = (result as { scores?: unknown } | null | undefined)?.scores;
  if (typeof scores !== 'object' || scores === null || Object.values(scores).some((score) => typeof score !== 'number')) {
    throw new CapserveError(
      'CAPABILITY_BAD_OUTPUT',
      `capability '${capability}' does not give label scores; set TEI_CLASSIFIER_CAPABILITY to a classifier capability`,
    );
  }
  return Object.entries(scores as Record<string, number>)
    .map(([label, score]) => ({ score, label }))
    .sort((a, b) => b.score - a.score);
}

/** The first `dimensions` values (all when absent), then scaled to unit length when asked: TEI's order. */
export function shapeVector(vector: readonly number[], dimensions: number | undefined, normalize: boolean): number[] {
  const kept = dimensions === undefined ? [...vector] : vector.slice(0, dimensions);
  if (!normalize) return kept;
  const length = Math.sqrt(kept.reduce((sum, value) => sum + value * value, 0));
  return length === 0 ? kept : kept.map((value) => value / length);
}
