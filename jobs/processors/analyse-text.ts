import { chunkOffsets, chunkText } from './chunk-text.js';
import { analyseInGroups, type AnalyseTexts } from './analyse-in-groups.js';
import { isEntitiesResult, mergeChunkEntities } from './merge-chunk-entities.js';
import { isSummaryResult, mergeChunkSummaries } from './merge-chunk-summaries.js';
import { mergeChunkResults } from './merge-chunk-results.js';

export interface TextAnalysis {
  readonly chunks: number;
  readonly characters: number;
  /** One merged result per capability for the whole text. */
  readonly results: Record<string, unknown>;
}

/**
 * Text capabilities over a text of any length: it is cut into chunks small enough for the
 * batcher, the chunks go through the batcher in groups (sharing batches with inline requests),
 * and each capability's chunk results are merged into one (see mergeChunkResults). Summaries
 * are merged by ranking the chunks' chosen sentences together (see mergeChunkSummaries), and
 * entity spans by concatenation (see mergeChunkEntities); the offsets of both are into the whole
 * text, even for a single chunk, which is the text trimmed.
 */
export async function analyseText(
  text: string,
  capabilities: string[],
  options: {
    readonly analyse: AnalyseTexts;
    readonly chunkChars: number;
    readonly groupSize: number;
    readonly signal: AbortSignal;
    readonly progress: (fraction: number) => void;
  },
): Promise<TextAnalysis> {
  const chunks = chunkText(text, options.chunkChars);
  if (capabilities.length === 0 || chunks.length === 0) return { chunks: chunks.length, characters: text.length, results: {} };
  const perCapability = await analyseInGroups(chunks, capabilities, options);
  const weights = chunks.map((chunk) => chunk.length);
  const starts = chunkOffsets(text, chunks);
  const results: Record<string, unknown> = {};
  for (const [name, chunkResults] of perCapability) {
    if (chunkResults.every(isSummaryResult)) results[name] = await mergeChunkSummaries(chunkResults, starts, name, options);
    else if (chunkResults.every(isEntitiesResult)) results[name] = mergeChunkEntities(chunkResults, starts);
    else results[name] = mergeChunkResults(chunkResults, weights);
  }
  return { chunks: chunks.length, characters: text.length, results };
}
