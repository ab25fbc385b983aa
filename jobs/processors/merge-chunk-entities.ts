import { type EntitiesResult, type Entity } from '../../capabilities/builtin/entities.js';

/** Whether a capability's result has the shape of an `entities` result. */
export function isEntitiesResult(value: unknown): value is EntitiesResult {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<EntitiesResult>;
  return (
    typeof candidate.truncated === 'boolean' &&
    Array.isArray(candidate.entities) &&
    candidate.entities.every(
      (e: Partial<Entity>) => typeof e.type === 'string' && typeof e.text === 'string' && typeof e.start === 'number' && typeof e.end === 'number',
    )
  );
}

/**
 * One `entities` result for a whole document from those of its chunks: every chunk's spans in
 * text order, with offsets into the document (`document.slice(start, end) === text`, the chunk's
 * start added from `chunkOffsets`). Chunks do not overlap and follow each other, so the spans
 * stay non-overlapping and in order. `truncated` is set when any chunk's was: its spans are that
 * chunk's first ones, so the merged list may miss spans in the middle of the document, not only
 * at its end. No span is split across chunks unless a chunk had to cut a single word longer than
 * itself (see chunkText).
 */
export function mergeChunkEntities(results: readonly EntitiesResult[], chunkStarts: readonly number[]): EntitiesResult {
  const entities = results.flatMap((result, i) => {
    const shift = chunkStarts[i] ?? 0;
    return result.entities.map((entity) => ({ ...entity, start: entity.start + shift, end: entity.end + shift }));
  });
  return { entities, truncated: results.some((result) => result.truncated) };
}
