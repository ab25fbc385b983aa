import { type BatchReply } from '../../batcher/types.js';
import { CapserveError } from '../../server/errors.js';
import { chunkText } from './chunk-text.js';
import { mergeChunkResults } from './merge-chunk-results.js';

/** Runs texts through the batcher, as the inline path does. */
export type ClassifyTexts = (texts: string[], capabilities: string[], signal: AbortSignal) => Promise<BatchReply>;

export interface TextAnalysis {
  readonly chunks: number;
  readonly characters: number;
  /** One merged result per capability for the whole text. */
  readonly results: Record<string, unknown>;
}

/**
 * Text capabilities over a text of any length: it is cut into chunks small enough for the
 * batcher, the chunks go through the batcher in groups (sharing batches with inline requests),
 * and each capability's chunk results are merged into one (see mergeChunkResults).
 */
export async function analyseText(
  text: string,
  capabilities: string[],
  options: {
    readonly classify: ClassifyTexts;
    readonly chunkChars: number;
    readonly groupSize: number;
    readonly signal: AbortSignal;
    readonly progress: (fraction: number) => void;
  },
): Promise<TextAnalysis> {
  const chunks = chunkText(text, options.chunkChars);
  if (capabilities.length === 0 || chunks.length === 0) return { chunks: chunks.length, characters: text.length, results: {} };
  const perCapability = new Map<string, unknown[]>(capabilities.map((name) => [name, []]));
  for (let start = 0; start < chunks.length; start += options.groupSize) {
    if (options.signal.aborted) throw new CapserveError('REQUEST_CANCELLED', 'the job was cancelled');
    const group = chunks.slice(start, start + options.groupSize);
    const reply = await options.classify(group, capabilities, options.signal);
    const [failure] = reply.failures;
    if (failure !== undefined) throw new CapserveError(failure.code, failure.message, { details: { failures: reply.failures } });
    for (const result of reply.results) for (const name of capabilities) perCapability.get(name)?.push(result[name]);
    options.progress(Math.min(1, (start + group.length) / chunks.length));
  }
  const weights = chunks.map((chunk) => chunk.length);
  return {
    chunks: chunks.length,
    characters: text.length,
    results: Object.fromEntries([...perCapability].map(([name, results]) => [name, mergeChunkResults(results, weights)])),
  };
}
